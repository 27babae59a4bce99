#include "json/json.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "json/text_scan.h"

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
      case '\0': return json_error(i, "NUL byte");
      case '"': {
        Result<size_t> close = skip_string(text, i);
        if (!close) return std::move(close).error();
        i = *close;
        break;
      }
      case '[':
      case '{':
        if (++depth > limits.max_depth) {
          return json_error(i,
                            "nesting deeper than " + std::to_string(limits.max_depth) + " levels");
        }
        [[fallthrough]];
      case ',':
        if (++values > limits.max_values) {
          return make_error(
              Errc::kRequestTooLarge,
              "JSON text holds more than " + std::to_string(limits.max_values) + " values");
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
      default: break;
    }
  }
  return std::nullopt;
}

// Forwards SAX events to a Document, refusing numbers that overflowed to infinity: RapidJSON
// 1.1.0's normal-precision path turns e.g. 2.5e308 into inf instead of reporting it too big,
// and inf cannot be written back as JSON.
template <class Doc>
class FiniteNumbers {
 public:
  using Ch = char;
  explicit FiniteNumbers(Doc& doc) : doc_(doc) {}
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
  Doc& doc_;
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
    FiniteNumbers<rapidjson::Document> handler(doc);
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
    FiniteNumbers<rapidjson::Document> handler(doc);
    result = reader.Parse<kParseFlags | rapidjson::kParseInsituFlag>(stream, handler);
    return !result.IsError();
  }
};

// Single-pass reader for the common case, feeding a document's SAX handler directly. It accepts
// only text that prescan and RapidJSON would both accept, and produces the same values (numbers
// beyond plain integers are converted by RapidJSON itself); anything it refuses goes through
// prescan and RapidJSON, so errors read exactly as theirs and no rarer valid form is lost.
// It refuses: grammar errors, invalid UTF-8, bad escapes and unpaired surrogate escapes, raw
// control bytes (NUL included) in strings, NUL or any other stray byte outside them, nesting
// beyond max_depth (or kMaxDepth), more than max_values values (counted as prescan counts them),
// exponents longer than kMaxExponentDigits and numbers RapidJSON turns into infinity.
template <class Doc>
class FastReader {
 public:
  static constexpr size_t kMaxDepth = 128;

  // With reference_strings, strings without escapes point into `text` instead of being copied
  // into the document (`text` must then outlive it). `scratch` holds unescaped strings.
  FastReader(std::string_view text, JsonLimits limits, bool reference_strings, std::string& scratch)
      : p_(text.data()),
        end_(text.data() + text.size()),
        max_depth_(std::min(limits.max_depth, kMaxDepth)),
        max_values_(limits.max_values),
        reference_strings_(reference_strings),
        scratch_(scratch) {}

  // Generator for Document::Populate.
  bool operator()(Doc& doc) {
    ok = parse(doc);
    return ok;
  }

  bool ok = false;

 private:
  enum class Next : uint8_t { kValue, kKey, kAfterValue };

  bool parse(Doc& doc) {
    size_t depth = 0;
    size_t values = 1;
    uint32_t count[kMaxDepth];  // members or elements so far, per open container
    bool object[kMaxDepth];
    Next next = Next::kValue;
    skip_whitespace();
    for (;;) {
      switch (next) {
        case Next::kValue: {
          if (p_ == end_) return false;
          const char c = *p_;
          if (c == '{' || c == '[') {
            if (depth == max_depth_ || ++values > max_values_) return false;
            ++p_;
            skip_whitespace();
            const bool is_object = c == '{';
            const char close = is_object ? '}' : ']';
            if (is_object) {
              doc.StartObject();
            } else {
              doc.StartArray();
            }
            if (p_ < end_ && *p_ == close) {
              ++p_;
              if (is_object) {
                doc.EndObject(0);
              } else {
                doc.EndArray(0);
              }
              next = Next::kAfterValue;
              break;
            }
            count[depth] = 0;
            object[depth] = is_object;
            ++depth;
            next = is_object ? Next::kKey : Next::kValue;
            break;
          }
          if (!scalar(doc)) return false;
          next = Next::kAfterValue;
          break;
        }
        case Next::kKey:
          if (p_ == end_ || *p_ != '"' || !string(doc)) return false;
          skip_whitespace();
          if (p_ == end_ || *p_ != ':') return false;
          ++p_;
          skip_whitespace();
          next = Next::kValue;
          break;
        case Next::kAfterValue: {
          skip_whitespace();
          if (depth == 0) return p_ == end_;
          if (p_ == end_) return false;
          const size_t top = depth - 1;
          ++count[top];
          if (*p_ == ',') {
            if (++values > max_values_) return false;
            ++p_;
            skip_whitespace();
            next = object[top] ? Next::kKey : Next::kValue;
            break;
          }
          if (*p_ != (object[top] ? '}' : ']')) return false;
          ++p_;
          if (object[top]) {
            doc.EndObject(count[top]);
          } else {
            doc.EndArray(count[top]);
          }
          --depth;
          break;
        }
      }
    }
  }

  void skip_whitespace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  bool scalar(Doc& doc) {
    switch (*p_) {
      case '"': return string(doc);
      case 't': return literal("true") && doc.Bool(true);
      case 'f': return literal("false") && doc.Bool(false);
      case 'n': return literal("null") && doc.Null();
      default: return number(doc);
    }
  }

  // *p_ is the opening quote. Emits the string (a key when an object member is expected: the
  // document's Key and String are the same event).
  bool string(Doc& doc) {
    const char* const begin = ++p_;
    for (;;) {
      p_ = skip_plain_json_bytes(p_, end_);
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') break;
      if (c == '\\') return escaped_string(doc, begin);
      if (c < 0x20) return false;
      const size_t n = utf8_sequence_length(p_, end_);
      if (n == 0) return false;
      p_ += n;
    }
    const auto len = static_cast<rapidjson::SizeType>(p_ - begin);
    ++p_;
    return doc.String(begin, len, !reference_strings_);
  }

  // The rest of a string holding escapes, from its first byte `begin`: unescaped into scratch_.
  bool escaped_string(Doc& doc, const char* begin) {
    scratch_.assign(begin, p_);
    for (;;) {
      const char* const run = p_;
      p_ = skip_plain_json_bytes(p_, end_);
      scratch_.append(run, p_);
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') break;
      if (c < 0x20) return false;
      if (c >= 0x80) {
        const size_t n = utf8_sequence_length(p_, end_);
        if (n == 0) return false;
        scratch_.append(p_, n);
        p_ += n;
        continue;
      }
      if (!escape()) return false;
    }
    ++p_;
    return doc.String(scratch_.data(), static_cast<rapidjson::SizeType>(scratch_.size()), true);
  }

  // *p_ is a backslash: appends the escaped character to scratch_.
  bool escape() {
    if (end_ - p_ < 2) return false;
    const char e = p_[1];
    p_ += 2;
    switch (e) {
      case '"': scratch_ += '"'; return true;
      case '\\': scratch_ += '\\'; return true;
      case '/': scratch_ += '/'; return true;
      case 'b': scratch_ += '\b'; return true;
      case 'f': scratch_ += '\f'; return true;
      case 'n': scratch_ += '\n'; return true;
      case 'r': scratch_ += '\r'; return true;
      case 't': scratch_ += '\t'; return true;
      case 'u': break;
      default: return false;
    }
    int unit = hex4_at();
    if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) return false;
    uint32_t cp = static_cast<uint32_t>(unit);
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
      p_ += 2;
      const int low = hex4_at();
      if (low < 0xDC00 || low > 0xDFFF) return false;
      cp = 0x10000 + ((cp - 0xD800) << 10) + static_cast<uint32_t>(low - 0xDC00);
    }
    append_utf8(cp);
    return true;
  }

  // The four hex digits at p_ (consumed), or -1.
  int hex4_at() {
    if (end_ - p_ < 4) return -1;
    int v = 0;
    for (int k = 0; k < 4; ++k) {
      const int d = hex_digit(p_[k]);
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    p_ += 4;
    return v;
  }

  void append_utf8(uint32_t cp) {
    if (cp < 0x80) {
      scratch_ += static_cast<char>(cp);
    } else if (cp < 0x800) {
      scratch_ += static_cast<char>(0xC0 | (cp >> 6));
      scratch_ += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      scratch_ += static_cast<char>(0xE0 | (cp >> 12));
      scratch_ += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      scratch_ += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      scratch_ += static_cast<char>(0xF0 | (cp >> 18));
      scratch_ += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      scratch_ += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      scratch_ += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  size_t skip_digits() {
    const char* const from = p_;
    while (p_ < end_ && is_digit(*p_)) ++p_;
    return static_cast<size_t>(p_ - from);
  }

  // JSON number grammar. Integers of up to 19 digits are typed as RapidJSON types them (32-bit
  // while they fit, then 64-bit); any other number is converted by RapidJSON from its text.
  bool number(Doc& doc) {
    const char* const begin = p_;
    const bool minus = *p_ == '-';
    if (minus) ++p_;
    if (p_ == end_ || !is_digit(*p_)) return false;
    const size_t int_digits = *p_ == '0' ? (++p_, 1) : skip_digits();
    bool integer = true;
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (skip_digits() == 0) return false;
      integer = false;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const size_t exp_digits = skip_digits();
      if (exp_digits == 0 || exp_digits > kMaxExponentDigits) return false;
      integer = false;
    }
    if (!integer || int_digits > 19) return rapidjson_number(doc, begin);
    uint64_t u = 0;
    for (const char* d = begin + (minus ? 1 : 0); d < p_; ++d) {
      u = u * 10 + static_cast<uint64_t>(*d - '0');
    }
    if (!minus) {
      return u <= UINT32_MAX ? doc.Uint(static_cast<unsigned>(u)) : doc.Uint64(u);
    }
    if (u <= uint64_t{1} << 31) return doc.Int(static_cast<int>(~static_cast<uint32_t>(u) + 1));
    if (u <= uint64_t{1} << 63) return doc.Int64(static_cast<int64_t>(~u + 1));
    return rapidjson_number(doc, begin);
  }

  // The number text [begin, p_) converted by RapidJSON, refusing infinity.
  bool rapidjson_number(Doc& doc, const char* begin) {
    rapidjson::MemoryStream stream(begin, static_cast<size_t>(p_ - begin));
    rapidjson::Reader reader;
    FiniteNumbers<Doc> handler(doc);
    return !reader.Parse<kParseFlags>(stream, handler).IsError();
  }

  const char* p_;
  const char* const end_;
  const size_t max_depth_;
  const size_t max_values_;
  const bool reference_strings_;
  std::string& scratch_;
};

Error parse_error(const rapidjson::ParseResult& result) {
  const rapidjson::ParseErrorCode code = result.Code();
  return json_error(result.Offset(), code == rapidjson::kParseErrorTermination
                                         ? "number out of range"
                                         : rapidjson::GetParseError_En(code));
}

// prescan, then RapidJSON: the reference behaviour, and the errors the callers see.
Result<rapidjson::Document> checked_parse(std::string_view text, JsonLimits limits) {
  if (auto err = prescan(text, limits)) return std::move(*err);
  rapidjson::Document doc;
  ParseText parse{text, {}};
  doc.Populate(parse);
  if (parse.result.IsError()) return parse_error(parse.result);
  return doc;
}

}  // namespace

Result<rapidjson::Document> parse_json(std::string_view text, JsonLimits limits) {
  rapidjson::Document doc;
  std::string scratch;
  FastReader<rapidjson::Document> fast(text, limits, false, scratch);
  doc.Populate(fast);
  if (fast.ok) return doc;
  return checked_parse(text, limits);
}

JsonEventParser::JsonEventParser()
    : buffer_(new char[kBufferBytes]), pool_(buffer_.get(), kBufferBytes) {}

JsonEventParser::~JsonEventParser() = default;

Result<const rapidjson::Value*> JsonEventParser::parse(std::string_view text, JsonLimits limits) {
  fallback_.reset();
  doc_.reset();
  pool_.Clear();
  doc_.emplace(&pool_, kStackBytes, &pool_);
  FastReader<Document> fast(text, limits, true, scratch_);
  doc_->Populate(fast);
  if (fast.ok) return &*doc_;
  Result<rapidjson::Document> checked = checked_parse(text, limits);
  if (!checked) return std::move(checked).error();
  fallback_.emplace(std::move(*checked));
  return &*fallback_;
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
  // Chunks of about the text's size (a parsed value takes 16-32 bytes for every few bytes of
  // text), kept under the 64 KiB at which glibc's free() consolidates.
  constexpr size_t kMinChunk = 4u << 10;
  constexpr size_t kMaxChunk = 60u << 10;
  out.pool = std::make_unique<rapidjson::MemoryPoolAllocator<>>(
      std::clamp(text.size() * 2, kMinChunk, kMaxChunk));
  out.doc = rapidjson::Document(out.pool.get());
  ParseInPlace parse{out.text.get(), {}};
  out.doc.Populate(parse);
  if (parse.result.IsError()) return parse_error(parse.result);
  return out;
}

std::string json_dump(const rapidjson::Value& v) {
  JsonBuffer buf;
  JsonWriter w(buf);
  v.Accept(w);
  return buf.take();
}

}  // namespace zproxy
