#pragma once
// JsonWriter: compact JSON output, byte for byte what RapidJSON 1.1.0's Writer<> with default
// flags writes (the golden fixtures and the upstream request tests pin those bytes):
//   - strings: '"', '\\' and the control bytes escaped (\b \t \n \f \r, else \u00XX in upper
//     case hex), every other byte copied, UTF-8 included;
//   - doubles: RapidJSON's shortest round-trip form (1.0, 1e21, 0.0001, -0.0); NaN and infinity
//     are refused (false) after the separator is written, as RapidJSON does;
//   - no whitespace.
// The method names are those of RapidJSON's Writer (String, Key and RawValue take a
// string_view), and the SAX forms below make it a RapidJSON handler, so one walk over a parsed
// value (detail::walk_json) feeds either.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "json/value.h"

namespace zproxy {

// The writer's output: a std::string that grows only by what is written (RapidJSON's
// StringBuffer reserved 6 bytes per input byte before each string: 48 MiB for an 8 MiB message).
class JsonBuffer {
 public:
  void reserve(size_t n) { s_.reserve(n); }
  void put(char c) { s_.push_back(c); }
  void append(std::string_view s) { s_.append(s); }
  std::string_view view() const { return s_; }
  std::string take() { return std::move(s_); }

 private:
  std::string s_;
};

class JsonWriter {
 public:
  explicit JsonWriter(JsonBuffer& out) : out_(out) {}

  bool Null() {
    prefix();
    out_.append("null");
    return true;
  }
  bool Bool(bool b) {
    prefix();
    out_.append(b ? "true" : "false");
    return true;
  }
  bool Int(int i) { return Int64(i); }
  bool Uint(unsigned u) { return Uint64(u); }
  bool Int64(int64_t i);
  bool Uint64(uint64_t u);
  bool Double(double d);
  bool String(std::string_view s);  // any bytes, NUL included
  bool Key(std::string_view s) { return String(s); }
  bool StartObject() { return open('{', false); }
  bool EndObject(unsigned = 0) { return close('}'); }
  bool StartArray() { return open('[', true); }
  bool EndArray(unsigned = 0) { return close(']'); }

  // A parsed value, copied (as RapidJSON's Value::Accept copies its own values).
  bool Value(JsonValue v);
  // `json`, one complete JSON value (e.g. json_dump's output), copied as it is: RapidJSON's
  // RawValue. Nothing checks it, so it must come from a writer, never from a client.
  bool RawValue(std::string_view json) {
    prefix();
    out_.append(json);
    return true;
  }

  // The SAX forms of String and Key, RapidJSON's handler shape: detail::walk_json drives this
  // writer and RapidJSON's own (the reference it is tested against) through them.
  bool String(const char* s, unsigned n, bool /*copy*/) { return String(std::string_view(s, n)); }
  bool Key(const char* s, unsigned n, bool /*copy*/) { return String(std::string_view(s, n)); }

 private:
  struct Level {
    size_t values = 0;  // in an object, keys and values both count
    bool array = false;
  };

  // The separator before a value: ',' between elements and members, ':' after a key.
  void prefix() {
    if (levels_.empty()) return;
    Level& level = levels_.back();
    if (level.values > 0) out_.put(level.array || level.values % 2 == 0 ? ',' : ':');
    ++level.values;
  }
  bool open(char bracket, bool array) {
    prefix();
    levels_.push_back({0, array});
    out_.put(bracket);
    return true;
  }
  bool close(char bracket) {
    if (!levels_.empty()) levels_.pop_back();
    out_.put(bracket);
    return true;
  }

  JsonBuffer& out_;
  std::vector<Level> levels_;
};

// A value serialised compactly.
std::string json_dump(JsonValue v);

}  // namespace zproxy
