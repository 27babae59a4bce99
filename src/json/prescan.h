#pragma once
// Internal to src/json: the checks made on the raw bytes before RapidJSON's reader sees them,
// and the small pieces of JSON grammar the readers share.

#include <cstddef>
#include <optional>
#include <string_view>

#include "core/result.h"
#include "json/json.h"

namespace zproxy::detail {

// RapidJSON 1.1.0 computes `exponent + fraction digits` in an int; an exponent of 9+ digits
// after a long fraction overflows it and indexes its power table out of bounds. No double
// needs more than 3 exponent digits (leading zeros aside), so longer exponents are refused.
inline constexpr size_t kMaxExponentDigits = 5;

inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

inline int hex_digit(char c) {
  if (is_digit(c)) return c - '0';
  const char lower = static_cast<char>(c | 0x20);
  return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
}

// kInvalidJson: "Invalid JSON at byte <offset>: <reason>".
Error json_error(size_t offset, std::string_view reason);

// One pass over the raw bytes, aware of strings and escapes. Rejects what RapidJSON must never
// see: nesting deeper than max_depth (kInvalidJson; RapidJSON's DOM destroys and Accept()s
// recursively, and so may any reader of a document), more than max_values values
// (kRequestTooLarge), NUL bytes (its streams take NUL for the end of input, hiding trailing
// garbage; JSON allows no raw NUL anywhere), exponents longer than kMaxExponentDigits and lone
// low surrogate escapes (RapidJSON would store them as invalid UTF-8).
std::optional<Error> prescan(std::string_view text, JsonLimits limits);

}  // namespace zproxy::detail
