#include "json/json.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace zproxy {
namespace {

// Flags for untrusted text:
// - iterative: the parser keeps its own heap stack, never the native one;
// - validate encoding: strings must be well-formed UTF-8 (no overlongs, no encoded
//   surrogates), so every string the proxy forwards or re-serialises is valid UTF-8;
// - no kParseStopWhenDoneFlag: anything but whitespace after the root value is an error;
// - no kParseFullPrecisionFlag: in RapidJSON 1.1.0 that path reads outside its power table on
//   inputs like "0.<400 zeros>1e-300". Normal precision is exact for numbers of up to 15
//   significant digits and decimal exponents within ±22 (temperatures, counts, ids); beyond
//   that a double may differ from the nearest one in its last bits.
constexpr unsigned kParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

// RapidJSON 1.1.0 computes `exponent + fraction digits` in an int; an exponent of 9+ digits
// after a long fraction overflows it and indexes its power table out of bounds. No double
// needs more than 3 exponent digits (leading zeros aside), so longer exponents are refused.
constexpr size_t kMaxExponentDigits = 5;

Error json_error(size_t offset, std::string_view reason) {
  std::string msg = "Invalid JSON at byte " + std::to_string(offset) + ": ";
  msg.append(reason);
  return make_error(Errc::kInvalidJson, std::move(msg));
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// text[i] is the 'e'/'E' of a number: the offset of its exponent's last digit, or nullopt when
// the exponent has more than kMaxExponentDigits digits.
std::optional<size_t> skip_exponent(std::string_view text, size_t i) {
  size_t j = i + 1;
  if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
  const size_t first_digit = j;
  while (j < text.size() && is_digit(text[j])) ++j;
  if (j - first_digit > kMaxExponentDigits) return std::nullopt;
  return j - 1;
}

int hex_digit(char c) {
  if (is_digit(c)) return c - '0';
  const char lower = static_cast<char>(c | 0x20);
  return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
}

// Value of the four hex digits at text[i], or -1.
int hex4(std::string_view text, size_t i) {
  if (i + 4 > text.size()) return -1;
  int v = 0;
  for (size_t k = i; k < i + 4; ++k) {
    const int d = hex_digit(text[k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// text[i] is an opening quote: the offset of the closing quote (text.size() when missing).
// Refuses NUL bytes and an escaped low surrogate that does not follow an escaped high one
// (RapidJSON rejects a lone high surrogate but would store a lone low one as invalid UTF-8).
Result<size_t> skip_string(std::string_view text, size_t i) {
  size_t after_high = 0;  // offset just past the last \uD800-\uDBFF escape
  for (++i; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') return i;
    if (c == '\0') return json_error(i, "NUL byte");
    if (c != '\\') continue;
    if (i + 1 < text.size() && text[i + 1] == 'u') {
      const int unit = hex4(text, i + 2);
      if (unit >= 0xDC00 && unit <= 0xDFFF && i != after_high) {
        return json_error(i, "lone surrogate escape");
      }
      if (unit >= 0xD800 && unit <= 0xDBFF) after_high = i + 6;
    }
    ++i;  // the escaped byte cannot end the string
  }
  return i;
}

// One pass over the raw bytes, aware of strings and escapes. Rejects what RapidJSON must never
// see: nesting deeper than max_depth (its recursive Accept/destructor would follow), NUL bytes
// (its MemoryStream reports NUL as end of input, hiding trailing garbage; JSON allows no raw NUL
// anywhere), over-long exponents (see kMaxExponentDigits) and lone low surrogate escapes.
// Also counts values: every value but a container's first element follows a comma or opens a
// container, so commas + containers + 1 bounds their number.
std::optional<Error> prescan(std::string_view text, JsonLimits limits) {
  size_t depth = 0;
  size_t values = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    switch (text[i]) {
      case '\0':
        return json_error(i, "NUL byte");
      case '"': {
        Result<size_t> close = skip_string(text, i);
        if (!close) return std::move(close).error();
        i = *close;
        break;
      }
      case '[':
      case '{':
        if (++depth > limits.max_depth) {
          return json_error(i, "nesting deeper than " + std::to_string(limits.max_depth) +
                                   " levels");
        }
        [[fallthrough]];
      case ',':
        if (++values > limits.max_values) {
          return make_error(Errc::kRequestTooLarge,
                            "JSON text holds more than " + std::to_string(limits.max_values) +
                                " values");
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;  // unbalanced input is left to the parser to report
        break;
      case 'e':
      case 'E':
        if (i > 0 && is_digit(text[i - 1])) {
          const std::optional<size_t> last = skip_exponent(text, i);
          if (!last) return json_error(i, "exponent too long");
          i = *last;
        }
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

// Forwards SAX events to a Document, refusing numbers that overflowed to infinity: RapidJSON
// 1.1.0's normal-precision path turns e.g. 2.5e308 into inf instead of reporting it too big,
// and inf cannot be written back as JSON.
class FiniteNumbers {
 public:
  using Ch = char;
  explicit FiniteNumbers(rapidjson::Document& doc) : doc_(doc) {}
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
  rapidjson::Document& doc_;
};

// Generator for Document::Populate: parses `text` into the document.
struct ParseText {
  std::string_view text;
  rapidjson::ParseResult result;

  bool operator()(rapidjson::Document& doc) {
    // MemoryStream, not Document::Parse(str, len): the latter's UTF-8 wrapper drops any of the
    // bytes EF, BB, BF found at the start, even alone, so "\xBF{}" would be accepted.
    rapidjson::MemoryStream stream(text.data(), text.size());
    rapidjson::Reader reader;
    FiniteNumbers handler(doc);
    result = reader.Parse<kParseFlags>(stream, handler);
    return !result.IsError();
  }
};

// The same over a NUL-terminated copy (prescan has refused NUL bytes inside the text), with
// strings unescaped where they lie. A leading EF BB BF is not skipped by this stream either.
struct ParseInPlace {
  char* text;
  rapidjson::ParseResult result;

  bool operator()(rapidjson::Document& doc) {
    rapidjson::InsituStringStream stream(text);
    rapidjson::Reader reader;
    FiniteNumbers handler(doc);
    result = reader.Parse<kParseFlags | rapidjson::kParseInsituFlag>(stream, handler);
    return !result.IsError();
  }
};

Error parse_error(const rapidjson::ParseResult& result) {
  const rapidjson::ParseErrorCode code = result.Code();
  return json_error(result.Offset(), code == rapidjson::kParseErrorTermination
                                         ? "number out of range"
                                         : rapidjson::GetParseError_En(code));
}

}  // namespace

Result<rapidjson::Document> parse_json(std::string_view text, JsonLimits limits) {
  if (auto err = prescan(text, limits)) return std::move(*err);
  rapidjson::Document doc;
  ParseText parse{text, {}};
  doc.Populate(parse);
  if (parse.result.IsError()) return parse_error(parse.result);
  return doc;
}

Result<JsonInPlace> parse_json_in_place(std::string_view text, JsonLimits limits) {
  if (auto err = prescan(text, limits)) return std::move(*err);
  JsonInPlace out;
  // NUL-terminated, plus padding: RapidJSON's UTF-8 validation takes a multi-byte sequence's
  // continuation bytes before checking them, so a lead byte at the end reads up to 3 further.
  constexpr size_t kPad = 4;
  out.text.reset(new char[text.size() + kPad]);
  std::copy(text.begin(), text.end(), out.text.get());
  std::fill_n(out.text.get() + text.size(), kPad, '\0');
  ParseInPlace parse{out.text.get(), {}};
  out.doc.Populate(parse);
  if (parse.result.IsError()) return parse_error(parse.result);
  return out;
}

const rapidjson::Value* json_member(const rapidjson::Value& obj, std::string_view key) {
  if (!obj.IsObject()) return nullptr;
  // With duplicate keys the last one wins, as in JavaScript and Python: the proxy reads the
  // value an upstream would read from the same bytes.
  const rapidjson::Value* found = nullptr;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    if (as_view(it->name) == key) found = &it->value;
  }
  return found;
}

std::string_view json_string(const rapidjson::Value& obj, std::string_view key,
                             std::string_view fallback) {
  const rapidjson::Value* v = json_member(obj, key);
  return json_is_string(v) ? as_view(*v) : fallback;
}

bool json_is_string(const rapidjson::Value* v) {
  return v != nullptr && v->IsString();
}

std::string json_dump(const rapidjson::Value& v) {
  JsonBuffer buf;
  JsonWriter w(buf);
  v.Accept(w);
  return buf.take();
}

}  // namespace zproxy
