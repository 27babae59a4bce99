// parse_json on arbitrary bytes: it must never crash, overflow the stack or fail with anything
// but kInvalidJson; an accepted document must dump to text that parses again to the same
// document (doubles within a relative 1e-12, or apart only in subnormal bits: parsing uses
// RapidJSON's normal precision).
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "json/json.h"

namespace {

// A tight cap on the same input exercises the depth pre-scan at small depths.
constexpr size_t kSmallDepth = 4;
constexpr size_t kSmallValues = 16;
constexpr double kDoubleTolerance = 1e-12;
constexpr double kSubnormalTolerance = 2 * DBL_MIN;

bool same_number(const rapidjson::Value& a, const rapidjson::Value& b) {
  if (a.IsDouble() != b.IsDouble()) return false;
  if (!a.IsDouble())
    return a.IsInt64() ? b.IsInt64() && a.GetInt64() == b.GetInt64()
                       : b.IsUint64() && a.GetUint64() == b.GetUint64();
  const double x = a.GetDouble(), y = b.GetDouble();
  const double diff = std::fabs(x - y);
  return diff <= kDoubleTolerance * std::fmax(std::fabs(x), std::fabs(y)) ||
         diff <= kSubnormalTolerance;
}

// Structural equality, members compared in order (duplicate keys included).
bool same(const rapidjson::Value& a, const rapidjson::Value& b) {
  if (a.GetType() != b.GetType()) return false;
  if (a.IsNumber()) return same_number(a, b);
  if (a.IsString()) return zproxy::as_view(a) == zproxy::as_view(b);
  if (a.IsArray()) {
    if (a.Size() != b.Size()) return false;
    for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
      if (!same(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.IsObject()) {
    if (a.MemberCount() != b.MemberCount()) return false;
    for (auto i = a.MemberBegin(), j = b.MemberBegin(); i != a.MemberEnd(); ++i, ++j) {
      if (zproxy::as_view(i->name) != zproxy::as_view(j->name)) return false;
      if (!same(i->value, j->value)) return false;
    }
    return true;
  }
  return true;  // null, true, false: the type says it all
}

void check_accessors(const rapidjson::Value& v) {
  if (!v.IsObject()) return;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    const std::string_view key = zproxy::as_view(it->name);
    const rapidjson::Value* m = zproxy::json_member(v, key);
    if (m == nullptr) __builtin_trap();
    if (zproxy::json_is_string(m) != m->IsString()) __builtin_trap();
    if (m->IsString() && zproxy::json_string(v, key) != zproxy::as_view(*m)) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto refused = [](const auto& r) {
    return r.error().code == zproxy::Errc::kInvalidJson ||
           r.error().code == zproxy::Errc::kRequestTooLarge;
  };
  auto small = zproxy::parse_json(text, {.max_depth = kSmallDepth, .max_values = kSmallValues});
  if (!small.ok() && !refused(small)) __builtin_trap();

  // Parsing in place accepts exactly the same texts, into the same document.
  auto in_place = zproxy::parse_json_in_place(text);
  auto doc = zproxy::parse_json(text);
  if (in_place.ok() != doc.ok()) __builtin_trap();
  if (!doc.ok()) {
    if (!refused(doc)) __builtin_trap();
    static zproxy::JsonEventParser rejecting;
    auto ev = rejecting.parse(text);
    if (ev.ok() || ev.error().code != doc.error().code) __builtin_trap();
    if (ev.error().message != doc.error().message) __builtin_trap();
    if (doc.error().code != in_place.error().code) __builtin_trap();
    if (small.ok()) __builtin_trap();  // tighter caps cannot accept more
    return 0;
  }
  if (!same(*doc, in_place->doc)) __builtin_trap();
  check_accessors(*doc);

  // The reusable event parser (fast path with strings pointing into `text`) agrees too, also
  // when it parses the same text twice in a row.
  static zproxy::JsonEventParser events;
  for (int round = 0; round < 2; ++round) {
    auto ev = events.parse(text);
    if (!ev.ok() || !same(*doc, **ev)) __builtin_trap();
  }
  auto again = zproxy::parse_json(zproxy::json_dump(*doc));
  if (!again.ok()) __builtin_trap();
  if (!same(*doc, *again)) __builtin_trap();
  return 0;
}
