#include "engine/log.h"

#include <catch2/catch.hpp>

#include "core/civil_time.h"

using namespace zproxy;

TEST_CASE("format_utc: RFC 3339 with milliseconds, four-digit years and beyond") {
  const struct {
    int64_t wall_ms;
    const char* text;
  } cases[] = {
      {0, "1970-01-01T00:00:00.000Z"},
      {-1, "1969-12-31T23:59:59.999Z"},
      {951782400123, "2000-02-29T00:00:00.123Z"},
      {1795687200045, "2026-11-26T10:00:00.045Z"},
      {253402300799999, "9999-12-31T23:59:59.999Z"},
      {253402300800007, "10000-01-01T00:00:00.007Z"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.wall_ms);
    CHECK(format_utc(c.wall_ms) == c.text);
    // The same text as the date formatter of the core gives, plus the milliseconds.
    CHECK(format_utc(c.wall_ms).substr(0, format_datetime(c.wall_ms, 'T').size()) ==
          format_datetime(c.wall_ms, 'T'));
  }
}

TEST_CASE("LogLine: one JSON object per line, values escaped") {
  const std::string line = LogLine(1795687200045, LogLevel::kWarn, "request", "req_1")
                               .str("route", "chat_completions")
                               .num("status", -502)
                               .str("message", "a \"quoted\"\nline\x01")
                               .null("credential")
                               .done();
  CHECK(line ==
        "{\"ts\":\"2026-11-26T10:00:00.045Z\",\"level\":\"warn\",\"event\":\"request\","
        "\"request_id\":\"req_1\",\"route\":\"chat_completions\",\"status\":-502,"
        "\"message\":\"a \\\"quoted\\\"\\nline\\u0001\",\"credential\":null}\n");
  CHECK(LogLine(0, LogLevel::kInfo, "start", "").done() ==
        "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"level\":\"info\",\"event\":\"start\","
        "\"request_id\":null}\n");
}
