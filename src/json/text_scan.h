#pragma once
// Byte scanning shared by the JSON reader (src/json/json.cpp) and the JSON string writer
// (src/openai/writer.cpp): both pass long runs of plain ASCII through and stop only at the few
// bytes that need a closer look.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace zproxy {

// The first byte in [p, end) that is not plain in a JSON string: '"', '\\', a control byte
// (< 0x20) or a non-ASCII byte (>= 0x80); end when there is none. Eight bytes at a time: the
// lowest flagged byte of each test below is exact (a borrow only runs upward from a hit), and
// only the lowest one is used.
inline const char* skip_plain_json_bytes(const char* p, const char* end) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  while (end - p >= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    const uint64_t quote = x ^ (kOnes * '"');
    const uint64_t backslash = x ^ (kOnes * '\\');
    // High bit of each byte: set for ASCII bytes below 0x20, equal to '"' or to '\\' (the
    // `& ~x` keeps ASCII bytes only), and for every non-ASCII byte.
    const uint64_t special = ((x - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes)) & ~x;
    const uint64_t flagged = (special | x) & kHigh;
    if (flagged != 0) {
      if constexpr (std::endian::native == std::endian::little) {
        return p + std::countr_zero(flagged) / 8;
      } else {
        break;  // the bytewise loop below finds it
      }
    }
    p += 8;
  }
  while (p < end) {
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return p;
    ++p;
  }
  return end;
}

// Length of the well-formed UTF-8 sequence at p (its first byte >= 0x80) within [p, end), or 0
// when it is not one (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
inline size_t utf8_sequence_length(const char* p, const char* end) {
  const auto c = static_cast<unsigned char>(p[0]);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (static_cast<size_t>(end - p) < n) return 0;
  const auto second = static_cast<unsigned char>(p[1]);
  if (second < lo || second > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if ((static_cast<unsigned char>(p[k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

}  // namespace zproxy
