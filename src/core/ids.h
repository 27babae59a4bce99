#pragma once
// Identifiers from host-supplied entropy. The core owns no random source: each exchange gets a
// seed from the host and derives its ids from it (splitmix64), so tests are deterministic.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace zproxy {

class IdSource {
 public:
  explicit IdSource(std::span<const uint8_t> seed);
  uint64_t next();
  // RFC 4122 version 4 UUID text, lowercase.
  std::string uuid4();
  // n characters of [0-9a-zA-Z]; with a prefix, `prefix` and then those (one allocation).
  std::string alnum(size_t n);
  std::string alnum(std::string_view prefix, size_t n);
  // 16 * words lowercase hex digits.
  std::string hex(size_t words);

 private:
  uint64_t state_ = 0;
};

}  // namespace zproxy
