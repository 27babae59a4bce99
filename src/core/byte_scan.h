#pragma once
// Word-at-a-time search for the first byte of interest, shared by the scanners of the SSE
// parser (line ends) and of JSON text (bytes a string cannot pass through verbatim).

#include <bit>
#include <cstdint>
#include <cstring>

namespace zproxy {

inline constexpr uint64_t kEachByte = 0x0101010101010101ull;  // 0x01 in every byte
inline constexpr uint64_t kHighBits = 0x8080808080808080ull;  // 0x80 in every byte

// The high bit of each byte of x that equals c, exact for the lowest such byte (a borrow only
// runs upward from a hit); higher bits may be false positives.
constexpr uint64_t bytes_equal(uint64_t x, unsigned char c) {
  const uint64_t diff = x ^ (kEachByte * c);
  return (diff - kEachByte) & ~diff & kHighBits;
}

// The first byte in [p, end) that `hit` accepts, or end. Eight bytes at a time: `flags(word)`
// must set the high bit of every byte `hit` accepts, exactly for the lowest one (it may flag
// more above it); on big-endian machines the bytewise loop finishes the search.
template <class Flags, class Hit>
inline const char* find_first_byte(const char* p, const char* end, Flags flags, Hit hit) {
  while (end - p >= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    const uint64_t flagged = flags(x);
    if (flagged != 0) {
      if constexpr (std::endian::native == std::endian::little) {
        return p + std::countr_zero(flagged) / 8;
      } else {
        break;
      }
    }
    p += 8;
  }
  while (p < end && !hit(static_cast<unsigned char>(*p))) ++p;
  return p;
}

}  // namespace zproxy
