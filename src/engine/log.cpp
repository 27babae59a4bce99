#include "engine/log.h"

#include "core/civil_time.h"

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
  std::string out = format_datetime(wall_ms, 'T');
  const int64_t ms = wall_ms - floor_div(wall_ms, 1000) * 1000;
  out += '.';
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
  out += 'Z';
  return out;
}

LogLine::LogLine(int64_t wall_ms, LogLevel level, std::string_view event,
                 std::string_view request_id)
    : w_(buf_) {
  buf_.reserve(512);  // a request's line fits: one allocation instead of a growth series
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
