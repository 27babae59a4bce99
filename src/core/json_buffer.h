#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace zproxy {

// Output stream for rapidjson::Writer backed by a std::string. Unlike rapidjson::StringBuffer,
// for which Writer reserves 6 bytes per input byte before writing each string (48 MiB for an
// 8 MiB message), it grows only by what is written.
class JsonBuffer {
 public:
  using Ch = char;
  void Put(char c) { s_.push_back(c); }
  void Flush() {}
  void reserve(size_t n) { s_.reserve(n); }
  const char* GetString() const { return s_.c_str(); }
  size_t GetSize() const { return s_.size(); }
  std::string_view view() const { return s_; }
  std::string take() { return std::move(s_); }

 private:
  std::string s_;
};

}  // namespace zproxy
