#include "json/writer.h"

#include <charconv>
#include <cmath>

// RapidJSON's double formatting (Grisu2 and its own layout of the digits), the one part of its
// Writer kept: output must stay byte-identical to what it wrote.
#include <rapidjson/internal/dtoa.h>
#include <rapidjson/rapidjson.h>

#include "core/byte_scan.h"
#include "json/builder.h"

namespace zproxy {
namespace {

// The first byte in [p, end) a JSON string cannot hold verbatim: '"', '\\' or a control byte.
const char* skip_unescaped(const char* p, const char* end) {
  return find_first_byte(
      p, end,
      [](uint64_t x) {
        const uint64_t control = (x - kEachByte * 0x20) & ~x & kHighBits;
        return control | bytes_equal(x, '"') | bytes_equal(x, '\\');
      },
      [](unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; });
}

// The escape of a byte skip_unescaped stopped at, as RapidJSON writes it.
std::string_view escape(unsigned char c, char (&buf)[6]) {
  switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: break;
  }
  constexpr char kHex[] = "0123456789ABCDEF";
  buf[0] = '\\';
  buf[1] = 'u';
  buf[2] = '0';
  buf[3] = '0';
  buf[4] = kHex[c >> 4];
  buf[5] = kHex[c & 0xF];
  return std::string_view(buf, 6);
}

template <class Int>
void append_integer(JsonBuffer& out, Int i) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, i);
  out.append(std::string_view(buf, static_cast<size_t>(end - buf)));
}

}  // namespace

bool JsonWriter::Int64(int64_t i) {
  prefix();
  append_integer(out_, i);
  return true;
}

bool JsonWriter::Uint64(uint64_t u) {
  prefix();
  append_integer(out_, u);
  return true;
}

bool JsonWriter::Double(double d) {
  prefix();
  if (!std::isfinite(d)) return false;
  constexpr int kMaxDecimalPlaces = 324;  // RapidJSON's default: no rounding
  char buf[25];
  const char* const end = rapidjson::internal::dtoa(d, buf, kMaxDecimalPlaces);
  out_.append(std::string_view(buf, static_cast<size_t>(end - buf)));
  return true;
}

bool JsonWriter::String(std::string_view s) {
  prefix();
  out_.put('"');
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p != end) {
    const char* const stop = skip_unescaped(p, end);
    out_.append(std::string_view(p, static_cast<size_t>(stop - p)));
    if (stop == end) break;
    char buf[6];
    out_.append(escape(static_cast<unsigned char>(*stop), buf));
    p = stop + 1;
  }
  out_.put('"');
  return true;
}

bool JsonWriter::Value(JsonValue v) {
  return detail::walk_json(detail::JsonAccess::node(v), *this);
}

std::string json_dump(JsonValue v) {
  JsonBuffer buf;
  JsonWriter w(buf);
  w.Value(v);
  return buf.take();
}

}  // namespace zproxy
