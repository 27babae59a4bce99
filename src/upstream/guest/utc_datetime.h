#pragma once
// Wall-clock formatting for the guest request's {{CURRENT_DATETIME}} variable.

#include <cstdint>
#include <string>

namespace zproxy::guest {

// "YYYY-MM-DD HH:MM:SS" in UTC for Unix milliseconds (proleptic Gregorian calendar).
std::string format_utc_datetime(int64_t unix_ms);

}  // namespace zproxy::guest
