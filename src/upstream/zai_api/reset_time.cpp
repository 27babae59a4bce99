#include "upstream/zai_api/reset_time.h"

#include "core/civil_time.h"

namespace zproxy::api::detail {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;

bool digit(char c) {
  return c >= '0' && c <= '9';
}

// The n-digit number at s[at], or -1 if any of those bytes is not a digit.
int64_t number_at(std::string_view s, size_t at, size_t n) {
  int64_t v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (i >= s.size() || !digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// A valid "YYYY-MM-DD HH:MM[:SS]" starting at s[at], as UTC+8 Unix ms.
std::optional<int64_t> time_at(std::string_view s, size_t at) {
  if (at + 16 > s.size() || s[at + 4] != '-' || s[at + 7] != '-' ||
      (s[at + 10] != ' ' && s[at + 10] != 'T') || s[at + 13] != ':') {
    return std::nullopt;
  }
  const int64_t y = number_at(s, at, 4), mo = number_at(s, at + 5, 2);
  const int64_t d = number_at(s, at + 8, 2), h = number_at(s, at + 11, 2);
  const int64_t mi = number_at(s, at + 14, 2);
  int64_t sec = 0;
  if (s.size() > at + 16 && s[at + 16] == ':') sec = number_at(s, at + 17, 2);
  if (sec < 0) sec = 0;  // "HH:MM:" followed by something else: no seconds given
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec > 59 ||
      d > days_in_month(y, mo)) {
    return std::nullopt;
  }
  const int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
  return secs * 1000 - kUtc8OffsetMs;
}

}  // namespace

int64_t next_utc8_midnight(int64_t now_wall_ms) {
  const int64_t local_day = floor_div(now_wall_ms + kUtc8OffsetMs, kDayMs);
  return (local_day + 1) * kDayMs - kUtc8OffsetMs;
}

std::optional<int64_t> find_utc8_time(std::string_view text) {
  for (size_t at = 0; at + 16 <= text.size(); ++at) {
    if (!digit(text[at]) || (at > 0 && digit(text[at - 1]))) continue;
    if (auto t = time_at(text, at)) return t;
  }
  return std::nullopt;
}

std::string format_utc8(int64_t wall_ms) {
  return format_datetime(wall_ms + kUtc8OffsetMs, ' ');
}

}  // namespace zproxy::api::detail
