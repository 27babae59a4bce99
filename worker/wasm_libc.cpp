// memcmp, bcmp and memchr for the Wasm module, replacing Emscripten's musl versions, which go
// byte by byte (memcmp, bcmp) or four bytes at a time (memchr). Under Wasm, clang does not
// expand a memcmp of a short constant (`name == "data"`) inline as it does natively, so every
// string_view comparison of the SSE parser and the stream decoders is a call here; memchr is
// the line and markup search. Eight bytes at a time (Wasm has 64-bit integers), reading only
// inside [p, p + n). Linked into zproxy_wasm only: a definition in an object file keeps the
// linker from taking musl's from libc.a. Compiled with -fno-builtin-{memcmp,bcmp,memchr} so
// that the loops below are not turned back into calls to themselves, and without LTO so that
// the definitions are there for calls code generation emits.

#include <bit>
#include <cstddef>
#include <cstdint>

#include "core/byte_scan.h"

namespace {

uint64_t load8(const unsigned char* p) {
  uint64_t x;
  __builtin_memcpy(&x, p, 8);
  return x;
}

int compare(const unsigned char* l, const unsigned char* r, size_t n) {
  for (; n >= 8; n -= 8, l += 8, r += 8) {
    const uint64_t diff = load8(l) ^ load8(r);
    if (diff != 0) {
      const int i = std::countr_zero(diff) / 8;  // Wasm is little-endian: the first byte is low
      return l[i] - r[i];
    }
  }
  for (; n > 0; --n, ++l, ++r) {
    if (*l != *r) return *l - *r;
  }
  return 0;
}

}  // namespace

extern "C" {

int memcmp(const void* a, const void* b, size_t n) {
  return compare(static_cast<const unsigned char*>(a), static_cast<const unsigned char*>(b), n);
}

int bcmp(const void* a, const void* b, size_t n) {
  return compare(static_cast<const unsigned char*>(a), static_cast<const unsigned char*>(b), n);
}

void* memchr(const void* s, int c, size_t n) {
  const auto* p = static_cast<const unsigned char*>(s);
  const auto ch = static_cast<unsigned char>(c);
  for (; n >= 8; n -= 8, p += 8) {
    const uint64_t flagged = zproxy::bytes_equal(load8(p), ch);
    if (flagged != 0) return const_cast<unsigned char*>(p + std::countr_zero(flagged) / 8);
  }
  for (; n > 0; --n, ++p) {
    if (*p == ch) return const_cast<unsigned char*>(p);
  }
  return nullptr;
}

}  // extern "C"
