#pragma once
// Internal to src/json: the single-pass reader behind parse_json and JsonEventParser.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "json/json.h"
#include "json/prescan.h"
#include "json/reader.h"
#include "json/text_scan.h"

namespace zproxy::detail {

// Single-pass reader for the common case, feeding a SAX handler (a JsonBuilder) directly. It
// accepts only text that prescan and RapidJSON would both accept, and produces the same values
// (numbers beyond plain integers are converted by RapidJSON itself); anything it refuses goes
// through prescan and RapidJSON, so errors read exactly as theirs and no rarer valid form is lost.
// It refuses: grammar errors, invalid UTF-8, bad escapes and unpaired surrogate escapes, raw
// control bytes (NUL included) in strings, NUL or any other stray byte outside them, nesting
// beyond max_depth (or kMaxDepth), more than max_values values (counted as prescan counts them),
// exponents longer than kMaxExponentDigits and numbers RapidJSON turns into infinity.
template <class Doc>  // the handler
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

  // Reads the whole text into `doc`; false as soon as the text is not one this reader takes
  // (doc then holds a partial document).
  bool read(Doc& doc) { return parse(doc); }

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
    return !rapidjson_read(std::string_view(begin, static_cast<size_t>(p_ - begin)), doc).IsError();
  }

  const char* p_;
  const char* const end_;
  const size_t max_depth_;
  const size_t max_values_;
  const bool reference_strings_;
  std::string& scratch_;
};

}  // namespace zproxy::detail
