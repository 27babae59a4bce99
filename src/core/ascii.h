#pragma once
// ASCII case folding for protocol tokens (header names, scheme, keywords). Locale-free on
// purpose: HTTP names are ASCII, and std::tolower depends on the C locale.

#include <cstddef>
#include <string_view>

namespace zproxy {

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

constexpr bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Every character of `s` is an ASCII letter, a digit or one of `extra` (names, prefixes).
constexpr bool only_alnum_or(std::string_view s, std::string_view extra) {
  for (const char c : s) {
    if (!is_ascii_alnum(c) && extra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

// An RFC 9110 token (header field names, methods).
constexpr bool is_http_token(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    const bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!tchar) return false;
  }
  return true;
}

// `needle` occurs in `haystack`, ASCII case ignored.
constexpr bool icontains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (size_t at = 0; at + needle.size() <= haystack.size(); ++at) {
    if (iequals(haystack.substr(at, needle.size()), needle)) return true;
  }
  return false;
}

}  // namespace zproxy
