#include "engine/log.h"

#include <cstdio>

namespace zproxy {

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string format_utc(int64_t wall_ms) {
  // Civil-from-days (H. Hinnant), valid for the proleptic Gregorian calendar.
  const int64_t ms = ((wall_ms % 1000) + 1000) % 1000;
  const int64_t secs = (wall_ms - ms) / 1000;
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), static_cast<long long>(m),
                static_cast<long long>(d), static_cast<long long>(rem / 3600),
                static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                static_cast<long long>(ms));
  return buf;
}

LogLine::LogLine(int64_t wall_ms, LogLevel level, std::string_view event,
                 std::string_view request_id)
    : w_(buf_) {
  w_.StartObject();
  str("ts", format_utc(wall_ms));
  str("level", level_name(level));
  str("event", event);
  if (request_id.empty()) {
    null("request_id");
  } else {
    str("request_id", request_id);
  }
}

LogLine& LogLine::str(std::string_view key, std::string_view value) {
  json_write_key(w_, key);
  json_write_string(w_, value);
  return *this;
}

LogLine& LogLine::num(std::string_view key, int64_t value) {
  json_write_key(w_, key);
  w_.Int64(value);
  return *this;
}

LogLine& LogLine::null(std::string_view key) {
  json_write_key(w_, key);
  w_.Null();
  return *this;
}

std::string LogLine::done() {
  w_.EndObject();
  std::string out = buf_.take();
  out.push_back('\n');
  return out;
}

}  // namespace zproxy
