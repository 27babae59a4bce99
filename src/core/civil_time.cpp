#include "core/civil_time.h"

namespace zproxy {
namespace {

void append_padded(std::string& out, int64_t v, int width) {
  char digits[24];
  int n = 0;
  const bool negative = v < 0;
  uint64_t u = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  do {
    digits[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (negative) out += '-';
  for (int i = n; i < width; ++i) out += '0';
  while (n > 0) out += digits[--n];
}

}  // namespace

std::string format_datetime(int64_t unix_ms, char sep) {
  const int64_t secs = floor_div(unix_ms, 1000);
  const int64_t days = floor_div(secs, 86400);
  const int64_t sod = secs - days * 86400;
  const CivilDate d = civil_from_days(days);
  std::string out;
  out.reserve(20);
  append_padded(out, d.year, 4);
  out += '-';
  append_padded(out, d.month, 2);
  out += '-';
  append_padded(out, d.day, 2);
  out += sep;
  append_padded(out, sod / 3600, 2);
  out += ':';
  append_padded(out, sod / 60 % 60, 2);
  out += ':';
  append_padded(out, sod % 60, 2);
  return out;
}

}  // namespace zproxy
