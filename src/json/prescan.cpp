#include "json/prescan.h"

#include <string>

namespace zproxy::detail {
namespace {

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

}  // namespace

Error json_error(size_t offset, std::string_view reason) {
  std::string msg = "Invalid JSON at byte " + std::to_string(offset) + ": ";
  msg.append(reason);
  return make_error(Errc::kInvalidJson, std::move(msg));
}

// Counts values as it goes: every value but a container's first element follows a comma or
// opens a container, so commas + containers + 1 bounds their number.
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

}  // namespace zproxy::detail
