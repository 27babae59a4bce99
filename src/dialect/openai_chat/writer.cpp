#include "dialect/openai_chat/writer.h"

#include <algorithm>

#include "core/civil_time.h"
#include "json/text_scan.h"

namespace zproxy {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// The escape of `c` (a control byte, '"' or '\\'), written at dst (6 bytes at most): its length.
size_t write_escape(char* dst, unsigned char c) {
  char short_form = 0;
  switch (c) {
    case '"': short_form = '"'; break;
    case '\\': short_form = '\\'; break;
    case '\b': short_form = 'b'; break;
    case '\f': short_form = 'f'; break;
    case '\n': short_form = 'n'; break;
    case '\r': short_form = 'r'; break;
    case '\t': short_form = 't'; break;
    default: break;
  }
  dst[0] = '\\';
  if (short_form != 0) {
    dst[1] = short_form;
    return 2;
  }
  constexpr char kHex[] = "0123456789abcdef";
  dst[1] = 'u';
  dst[2] = '0';
  dst[3] = '0';
  dst[4] = kHex[c >> 4];
  dst[5] = kHex[c & 0xF];
  return 6;
}

// Copies n bytes, eight at a time. Clang must not turn the loop back into a memcpy call (see
// OutputBuffer); GCC builds are native, where memcpy is fast.
#if defined(__clang__)
__attribute__((no_builtin("memcpy")))
#endif
void copy_bytes(char* dst, const char* src, size_t n) {
  for (; n >= 8; n -= 8, src += 8, dst += 8) {
    uint64_t x;
    __builtin_memcpy(&x, src, 8);
    __builtin_memcpy(dst, &x, 8);
  }
  for (; n > 0; --n) *dst++ = *src++;
}

// The JSON escaping of `s` (see append_json_escaped), handed to append(const char*, size_t) in
// runs: verbatim stretches, escapes and replacement characters.
template <class Append>
void escape_json(std::string_view s, Append&& append) {
  const char* const end = s.data() + s.size();
  const char* run = s.data();  // start of the bytes copied verbatim
  const char* p = run;
  for (;;) {
    p = skip_plain_json_bytes(p, end);
    if (p == end) break;
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x80) {
      const size_t n = utf8_sequence_length(p, end);
      if (n > 0) {
        p += n;
        continue;
      }
    }
    append(run, static_cast<size_t>(p - run));
    if (c >= 0x80) {
      append(kReplacementChar.data(), kReplacementChar.size());
    } else {
      char escape[6];
      append(escape, write_escape(escape, c));
    }
    run = ++p;
  }
  append(run, static_cast<size_t>(end - run));
}

// `s` escaped, written at dst, which has room for 6 bytes per byte of s (the longest escape).
// Returns the end of what was written.
char* write_json_escaped(char* dst, std::string_view s) {
  escape_json(s, [&dst](const char* bytes, size_t n) {
    copy_bytes(dst, bytes, n);
    dst += n;
  });
  return dst;
}

}  // namespace

// No reserve() before appending in this file: Emscripten's prebuilt libc++ predates C++20 and
// its reserve() shrinks to the size asked for, so reserving before each small append would
// reallocate and copy the whole output every time.
void append_sse_data(std::string& out, std::string_view json) {
  out += "data: ";
  out += json;
  out += "\n\n";
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  append_json_escaped(out, s);
  out += '"';
}

void append_json_escaped(std::string& out, std::string_view s) {
  escape_json(s, [&out](const char* bytes, size_t n) { out.append(bytes, n); });
}

OutputBuffer& OutputBuffer::operator+=(std::string_view s) {
  copy_bytes(room(s.size()), s.data(), s.size());
  size_ += s.size();
  return *this;
}

// In slices, so that room for the longest escapes stays small whatever the text's size. A slice
// ends before a byte that starts a code point, or after 3 continuation bytes (no sequence has
// more): escaping sees every UTF-8 sequence whole.
void OutputBuffer::append_json_escaped(std::string_view s) {
  constexpr size_t kSliceBytes = 4096;
  auto is_continuation = [&](size_t i) {
    return (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
  };
  while (!s.empty()) {
    size_t n = std::min(s.size(), kSliceBytes);
    if (n < s.size()) {
      for (size_t back = 0; back <= 3; ++back) {
        if (!is_continuation(n - back)) {
          n -= back;
          break;
        }
      }
    }
    char* const start = room(6 * n);
    size_ += static_cast<size_t>(write_json_escaped(start, s.substr(0, n)) - start);
    s.remove_prefix(n);
  }
}

std::string OutputBuffer::take() {
  if (size_ == 0) return {};
  std::string out(data_.get(), size_);
  size_ = 0;
  if (capacity_ > kKeepBytes) {
    data_.reset();
    capacity_ = 0;
  }
  return out;
}

char* OutputBuffer::room(size_t n) {
  if (capacity_ - size_ < n) {
    const size_t capacity = std::max(2 * capacity_, size_ + n + 256);
    std::unique_ptr<char[]> bigger(new char[capacity]);
    copy_bytes(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }
  return data_.get() + size_;
}

std::string model_json(const ModelEntry& model, int64_t created) {
  std::string out = "{\"id\":";
  append_json_string(out, model.public_name);
  out += ",\"object\":\"model\",\"created\":";
  out += std::to_string(created);
  out += ",\"owned_by\":\"z-ai\",\"type\":\"model\",\"display_name\":";
  append_json_string(out, model.public_name);
  out += ",\"created_at\":\"" + format_datetime(created * 1000, 'T') + "Z\"}";
  return out;
}

std::string models_list_json(const std::vector<ModelEntry>& models, int64_t created) {
  std::string out = "{\"object\":\"list\",\"data\":[";
  for (size_t i = 0; i < models.size(); ++i) {
    if (i > 0) out += ',';
    out += model_json(models[i], created);
  }
  out += "],\"has_more\":false,\"first_id\":";
  if (models.empty()) {
    out += "null,\"last_id\":null}";
    return out;
  }
  append_json_string(out, models.front().public_name);
  out += ",\"last_id\":";
  append_json_string(out, models.back().public_name);
  out += '}';
  return out;
}

}  // namespace zproxy
