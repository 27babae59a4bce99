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

}  // namespace zproxy
