#pragma once
// Upstream takes tool names of at most 64 characters; Anthropic clients may send up to 128.
// A longer name goes upstream as its first 55 characters, '_' and the first 8 hex digits of
// its SHA-256 (stable, so history and tools agree), and the client's emitter restores it
// (docs/contract.md, Messages request mapping).

#include <string>
#include <string_view>

namespace zproxy {

inline constexpr size_t kUpstreamToolNameMax = 64;

std::string upstream_tool_name(std::string_view name);

}  // namespace zproxy
