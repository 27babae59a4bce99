#pragma once
// Byte scanning shared by the JSON reader (src/json/fast_reader.h) and the JSON string writer
// (src/dialect/openai_chat/writer.cpp): both pass long runs of plain ASCII through and stop only at
// the few bytes that need a closer look.

#include <cstddef>
#include <cstdint>

#include "core/byte_scan.h"

namespace zproxy {

// The first byte in [p, end) that is not plain in a JSON string: '"', '\\', a control byte
// (< 0x20) or a non-ASCII byte (>= 0x80); end when there is none.
inline const char* skip_plain_json_bytes(const char* p, const char* end) {
  return find_first_byte(
      p, end,
      [](uint64_t x) {
        // Bytes below 0x20 (ASCII only: `& ~x`), '"' and '\\', and every non-ASCII byte.
        const uint64_t control = (x - kEachByte * 0x20) & ~x & kHighBits;
        return control | bytes_equal(x, '"') | bytes_equal(x, '\\') | (x & kHighBits);
      },
      [](unsigned char c) { return c < 0x20 || c >= 0x80 || c == '"' || c == '\\'; });
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
