#pragma once
// SHA-256 (FIPS 180-4), for the few places the proxy must shorten a client's string into a
// stable, opaque one: Anthropic tool names over 64 characters and metadata.user_id values
// outside upstream's length bounds (docs/contract.md, Messages request mapping).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace zproxy {

std::array<uint8_t, 32> sha256(std::string_view data);

// The digest as 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace zproxy
