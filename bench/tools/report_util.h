#pragma once
// Small helpers for the bench tools' JSON reports.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace zbench {

// {"n","mean","p50","p90","p99","p999","max"} of the samples, or null when there are none.
inline std::string percentiles(std::vector<int64_t> v) {
  if (v.empty()) return "null";
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
  };
  double sum = 0;
  for (int64_t x : v) sum += static_cast<double>(x);
  std::ostringstream o;
  o << "{\"n\":" << v.size() << ",\"mean\":" << std::llround(sum / v.size())
    << ",\"p50\":" << at(0.50) << ",\"p90\":" << at(0.90) << ",\"p99\":" << at(0.99)
    << ",\"p999\":" << at(0.999) << ",\"max\":" << v.back() << "}";
  return o.str();
}

// A JSON string literal for `s` (control characters escaped).
inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", ch);
      out += esc;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

inline bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream s;
  s << f.rdbuf();
  out = s.str();
  return true;
}

}  // namespace zbench
