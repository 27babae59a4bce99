#pragma once
// Internal to src/json: RapidJSON's reader, the reference for what JSON text means. Everything
// a JsonDocument holds was read either by it or by FastReader, which agrees with it.

#include <cmath>
#include <cstdint>
#include <string_view>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "core/result.h"
#include "json/prescan.h"

namespace zproxy::detail {

// Flags for untrusted text:
// - iterative: the parser keeps its own heap stack, never the native one;
// - validate encoding: strings must be well-formed UTF-8 (no overlongs, no encoded
//   surrogates), so every string the proxy forwards or re-serialises is valid UTF-8;
// - no kParseStopWhenDoneFlag: anything but whitespace after the root value is an error;
// - no kParseFullPrecisionFlag: in RapidJSON 1.1.0 that path reads outside its power table on
//   inputs like "0.<400 zeros>1e-300". Normal precision is exact for numbers of up to 15
//   significant digits and decimal exponents within ±22 (temperatures, counts, ids); beyond
//   that a double may differ from the nearest one in its last bits.
inline constexpr unsigned kParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

// Forwards SAX events to a handler, refusing numbers that overflowed to infinity: RapidJSON
// 1.1.0's normal-precision path turns e.g. 2.5e308 into inf instead of reporting it too big,
// and inf cannot be written back as JSON.
template <class Handler>
class FiniteNumbers {
 public:
  using Ch = char;
  explicit FiniteNumbers(Handler& doc) : doc_(doc) {}
  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return std::isfinite(d) && doc_.Double(d); }
  bool RawNumber(const Ch* s, rapidjson::SizeType n, bool copy) {
    return doc_.RawNumber(s, n, copy);
  }
  bool String(const Ch* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
  bool Key(const Ch* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
  bool StartObject() { return doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) { return doc_.EndObject(members); }
  bool StartArray() { return doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) { return doc_.EndArray(elements); }

 private:
  Handler& doc_;
};

// RapidJSON's reader over `text`, into `handler`. A MemoryStream, not a StringStream or
// Document::Parse(str, len): the latter's UTF-8 wrapper drops any of the bytes EF, BB, BF found
// at the start, even alone, so "\xBF{}" would be accepted.
template <class Handler>
rapidjson::ParseResult rapidjson_read(std::string_view text, Handler& handler) {
  rapidjson::MemoryStream stream(text.data(), text.size());
  rapidjson::Reader reader;
  FiniteNumbers<Handler> finite(handler);
  return reader.Parse<kParseFlags>(stream, finite);
}

// The same over a NUL-terminated text (prescan has refused NUL bytes inside it) followed by at
// least 3 more readable bytes, with strings unescaped where they lie: the handler is given
// copy == false and pointers into `text`. A leading EF BB BF is not skipped by this stream
// either.
template <class Handler>
rapidjson::ParseResult rapidjson_read_in_place(char* text, Handler& handler) {
  rapidjson::InsituStringStream stream(text);
  rapidjson::Reader reader;
  FiniteNumbers<Handler> finite(handler);
  return reader.Parse<kParseFlags | rapidjson::kParseInsituFlag>(stream, finite);
}

// A failed read as the callers see it (kInvalidJson with the offset). A handler's refusal is
// FiniteNumbers' (the builders refuse nothing else but memory exhaustion).
inline Error parse_error(const rapidjson::ParseResult& result) {
  const rapidjson::ParseErrorCode code = result.Code();
  return json_error(result.Offset(), code == rapidjson::kParseErrorTermination
                                         ? "number out of range"
                                         : rapidjson::GetParseError_En(code));
}

}  // namespace zproxy::detail
