#include "engine/log.h"

#include <charconv>

#include "core/civil_time.h"
#include "dialect/openai_chat/writer.h"

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

namespace {

// Writes `v` (0 <= v < 10^width) as exactly `width` digits ending at `end`.
void put_digits(char* end, int64_t v, int width) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

// format_utc's text, appended without a temporary string (a log line per request).
void append_utc(std::string& out, int64_t wall_ms) {
  const int64_t secs = floor_div(wall_ms, 1000);
  const int64_t days = floor_div(secs, 86400);
  const CivilDate d = civil_from_days(days);
  if (d.year < 0 || d.year > 9999) {  // not four digits: the general formatter
    out += format_datetime(wall_ms, 'T');
    out.append(".000Z", 5);
    const int64_t ms = wall_ms - secs * 1000;
    put_digits(out.data() + out.size() - 1, ms, 3);
    return;
  }
  const int64_t sod = secs - days * 86400;
  char t[] = "0000-00-00T00:00:00.000Z";
  put_digits(t + 4, d.year, 4);
  put_digits(t + 7, d.month, 2);
  put_digits(t + 10, d.day, 2);
  put_digits(t + 13, sod / 3600, 2);
  put_digits(t + 16, sod / 60 % 60, 2);
  put_digits(t + 19, sod % 60, 2);
  put_digits(t + 23, wall_ms - secs * 1000, 3);
  out.append(t, sizeof t - 1);
}

}  // namespace

std::string format_utc(int64_t wall_ms) {
  std::string out;
  append_utc(out, wall_ms);
  return out;
}

LogLine::LogLine(int64_t wall_ms, LogLevel level, std::string_view event,
                 std::string_view request_id) {
  out_.reserve(512);  // a request's line fits: one allocation instead of a growth series
  out_ += "{\"ts\":\"";
  append_utc(out_, wall_ms);
  out_ += "\",\"level\":\"";
  out_ += level_name(level);
  out_ += '"';
  str("event", event);
  if (request_id.empty()) {
    null("request_id");
  } else {
    str("request_id", request_id);
  }
}

// Keys are the code's own names (plain ASCII letters and underscores): written as they are.
void LogLine::key(std::string_view key) {
  out_.append(",\"", 2).append(key).append("\":", 2);
}

LogLine& LogLine::str(std::string_view k, std::string_view value) {
  key(k);
  append_json_string(out_, value);
  return *this;
}

LogLine& LogLine::num(std::string_view k, int64_t value) {
  key(k);
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out_.append(digits, static_cast<size_t>(end - digits));
  return *this;
}

LogLine& LogLine::null(std::string_view k) {
  key(k);
  out_ += "null";
  return *this;
}

std::string LogLine::done() {
  out_ += "}\n";
  return std::move(out_);
}

}  // namespace zproxy
