#include "api/reset_time.h"

namespace zproxy::api::detail {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;

// Floor division: correct for times before 1970 too.
int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-Compatible
// Low-Level Date Algorithms").
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  int64_t y, m, d;
};

Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (m <= 2), m, d};
}

int64_t days_in_month(int64_t y, int64_t m) {
  static constexpr int64_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return (m == 2 && leap) ? 29 : kDays[m - 1];
}

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

// v in decimal, left-padded with zeros to `width` digits.
void append_padded(std::string& out, int64_t v, size_t width) {
  std::string digits = std::to_string(v);
  if (digits.size() < width) out.append(width - digits.size(), '0');
  out += digits;
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
  const int64_t local_s = floor_div(wall_ms + kUtc8OffsetMs, 1000);
  const int64_t days = floor_div(local_s, 86400);
  const int64_t sod = local_s - days * 86400;
  const Civil c = civil_from_days(days);
  std::string out;
  append_padded(out, c.y, 4);
  out += '-';
  append_padded(out, c.m, 2);
  out += '-';
  append_padded(out, c.d, 2);
  out += ' ';
  append_padded(out, sod / 3600, 2);
  out += ':';
  append_padded(out, sod / 60 % 60, 2);
  out += ':';
  append_padded(out, sod % 60, 2);
  return out;
}

}  // namespace zproxy::api::detail
