#pragma once
// Internal to the API adapter: Z.AI states quota resets in China time (UTC+8, no DST), e.g.
// "Your limit will reset at 2026-11-26 18:00:00". Times here are Unix milliseconds.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zproxy::api::detail {

inline constexpr int64_t kUtc8OffsetMs = 8 * 3600 * 1000;

// The first midnight in UTC+8 strictly after now_wall_ms (the daily quota reset of 1304).
int64_t next_utc8_midnight(int64_t now_wall_ms);

// The first "YYYY-MM-DD HH:MM[:SS]" in text (a 'T' may stand for the space), read as UTC+8.
// nullopt when there is none or its fields are out of range (month 1-12, day valid for the
// month, hour 0-23, minute 0-59, second 0-59).
std::optional<int64_t> find_utc8_time(std::string_view text);

// "YYYY-MM-DD HH:MM:SS" of wall_ms in UTC+8.
std::string format_utc8(int64_t wall_ms);

}  // namespace zproxy::api::detail
