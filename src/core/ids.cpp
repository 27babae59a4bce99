#include "core/ids.h"

namespace zproxy {

IdSource::IdSource(std::span<const uint8_t> seed) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over the seed
  for (uint8_t b : seed) h = (h ^ b) * 0x100000001b3ull;
  state_ = h;
}

uint64_t IdSource::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string IdSource::uuid4() {
  static constexpr char kHex[] = "0123456789abcdef";
  uint8_t b[16];
  for (int i = 0; i < 2; ++i) {
    uint64_t v = next();
    for (int j = 0; j < 8; ++j) b[i * 8 + j] = static_cast<uint8_t>(v >> (j * 8));
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0f]);
  }
  return out;
}

// The ids are written in place (no push_back per character): a request draws about 80.
std::string IdSource::hex(size_t words) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16 * words, '0');
  char* p = out.data();
  for (size_t i = 0; i < words; ++i) {
    const uint64_t v = next();
    for (int j = 0; j < 16; ++j) *p++ = kHex[(v >> (4 * j)) & 15];
  }
  return out;
}

std::string IdSource::alnum(size_t n) {
  return alnum({}, n);
}

std::string IdSource::alnum(std::string_view prefix, size_t n) {
  static constexpr char kChars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string out(prefix.size() + n, '0');
  prefix.copy(out.data(), prefix.size());
  for (size_t i = prefix.size(); i < out.size(); ++i) out[i] = kChars[next() % 62];
  return out;
}

}  // namespace zproxy
