#pragma once
// One JSON object per log line. The core formats every line; hosts only write them out.
// Never pass a token, key, prompt or answer here unless LOG_BODIES asked for it.

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"

namespace zproxy {

std::string_view level_name(LogLevel level);

// Builds {"ts":…,"level":…,"event":…,"request_id":…|null, …fields…}.
class LogLine {
 public:
  LogLine(int64_t wall_ms, LogLevel level, std::string_view event, std::string_view request_id);
  LogLine& str(std::string_view key, std::string_view value);
  LogLine& num(std::string_view key, int64_t value);
  LogLine& null(std::string_view key);
  // Closes the object and returns it with a trailing newline.
  std::string done();

 private:
  void key(std::string_view key);

  std::string out_;
};

// RFC 3339 UTC with milliseconds, e.g. "2026-11-26T04:44:14.123Z".
std::string format_utc(int64_t wall_ms);

}  // namespace zproxy
