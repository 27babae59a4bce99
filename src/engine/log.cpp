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
                 std::string_view request_id) {
  out_.reserve(512);  // a request's line fits: one allocation instead of a growth series
  out_ += "{\"ts\":\"";
  out_ += format_utc(wall_ms);
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

void LogLine::key(std::string_view key) {
  out_ += ',';
  append_json_string(out_, key);
  out_ += ':';
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
