// API mode: classify_failure, business code first (docs/upstream.md §2.4), then HTTP status;
// and the UTC+8 reset-time arithmetic behind 1304/1308/1310.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "upstream/zai_api/api.h"
#include "upstream/zai_api/reset_time.h"

using namespace zproxy;

namespace {

constexpr int64_t kNow = 1764151200000;               // 2025-11-26 10:00:00 UTC = 18:00:00 UTC+8
constexpr int64_t kNextUtc8Midnight = 1764172800000;  // 2025-11-27 00:00:00 UTC+8
constexpr int64_t kH = 3600 * 1000;

std::string body(std::string_view code_json, std::string_view message = "m") {
  return R"({"error":{"code":)" + std::string(code_json) + R"(,"message":")" +
         std::string(message) + R"("}})";
}

struct Row {
  int status;
  std::string body;
  Errc errc;
  Verdict verdict;
  int64_t cooldown_ms = 0;
  int64_t reset_wall_ms = 0;
  std::string param = {};
};

void check_rows(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    INFO("HTTP " << row.status << " " << row.body);
    const UpstreamFailure f = api::classify_failure(row.status, row.body, kNow);
    CHECK(errc_info(f.error.code).code == errc_info(row.errc).code);
    CHECK(static_cast<int>(f.verdict) == static_cast<int>(row.verdict));
    CHECK(f.cooldown_ms == row.cooldown_ms);
    CHECK(f.reset_wall_ms == row.reset_wall_ms);
    CHECK(f.error.param == row.param);
    CHECK(!f.error.message.empty());
  }
}

}  // namespace

TEST_CASE("api classify: codes about the key", "[api][classify]") {
  std::vector<Row> rows;
  for (const char* code : {"1000", "1002", "1003", "1004", "1110", "1111", "1112", "1121"}) {
    rows.push_back(
        {401, body(std::string("\"") + code + "\""), Errc::kUpstreamError, Verdict::kDead});
    rows.push_back({429, body(code), Errc::kUpstreamError, Verdict::kDead});  // number form
  }
  rows.push_back({429, body("\"1113\""), Errc::kUpstreamError, Verdict::kCooldown, 6 * kH});
  rows.push_back({429, body("\"1302\""), Errc::kRateLimitExceeded, Verdict::kCooldown, 5000});
  rows.push_back({429, body("1303"), Errc::kRateLimitExceeded, Verdict::kCooldown, 5000});
  rows.push_back({429, body("\"1304\""), Errc::kRateLimitExceeded, Verdict::kCooldown,
                  kNextUtc8Midnight - kNow, kNextUtc8Midnight});
  rows.push_back({429, body("\"1313\""), Errc::kRateLimitExceeded, Verdict::kCooldown, 24 * kH});
  // The code wins over the status: a 200 error frame and a 500 are read the same way.
  rows.push_back({200, body("\"1302\""), Errc::kRateLimitExceeded, Verdict::kCooldown, 5000});
  rows.push_back({500, body("\"1000\""), Errc::kUpstreamError, Verdict::kDead});
  check_rows(rows);
}

TEST_CASE("api classify: 1308/1310 cool down until the time in the message", "[api][classify]") {
  const int64_t reset = 1764171000000;  // 2025-11-26 23:30:00 UTC+8
  const std::vector<Row> rows = {
      {429,
       body("\"1308\"",
            "Usage limit reached for 5 hour. Your limit will reset at "
            "2025-11-26 23:30:00"),
       Errc::kRateLimitExceeded, Verdict::kCooldown, reset - kNow, reset},
      {429, body("1310", "已达到每周使用上限。您的限额将在 2025-11-26 23:30:00 重置。"),
       Errc::kRateLimitExceeded, Verdict::kCooldown, reset - kNow, reset},
      {429, body("\"1308\"", "reset at 2025-11-26T23:30"), Errc::kRateLimitExceeded,
       Verdict::kCooldown, reset - kNow, reset},
      // No readable time: one hour.
      {429, body("\"1308\"", "limit reached"), Errc::kRateLimitExceeded, Verdict::kCooldown, kH},
      {429, body("\"1310\"", "reset at 2025-13-01 00:00:00"), Errc::kRateLimitExceeded,
       Verdict::kCooldown, kH},
      // A time already past: a short cooldown, then try again.
      {429, body("\"1308\"", "reset at 2025-11-26 17:00:00"), Errc::kRateLimitExceeded,
       Verdict::kCooldown, 60000},
  };
  check_rows(rows);
  const UpstreamFailure f = api::classify_failure(429, rows[0].body, kNow);
  CHECK(f.error.message ==
        "usage limit of an upstream API key reached; it resets at 2025-11-26 23:30:00 UTC+8 "
        "(code 1308)");
}

TEST_CASE("api classify: codes about the request or upstream's health", "[api][classify]") {
  std::vector<Row> rows;
  for (const char* code : {"500", "1230", "1234"}) {
    rows.push_back(
        {429, body(std::string("\"") + code + "\""), Errc::kUpstreamError, Verdict::kTransient});
  }
  for (const char* code : {"1305", "1312"}) {
    rows.push_back({429, body(std::string("\"") + code + "\""), Errc::kUpstreamOverloaded,
                    Verdict::kTransient});
  }
  rows.push_back({503, "", Errc::kUpstreamOverloaded, Verdict::kTransient});
  for (const char* code : {"1210", "1212", "1213", "1214", "1215"}) {
    rows.push_back(
        {400, body(std::string("\"") + code + "\""), Errc::kInvalidValue, Verdict::kClientFault});
  }
  rows.push_back(
      {400, body("\"1211\""), Errc::kModelNotFound, Verdict::kClientFault, 0, 0, "model"});
  rows.push_back({400, body("\"1261\""), Errc::kContextLengthExceeded, Verdict::kClientFault, 0, 0,
                  "messages"});
  rows.push_back({400, body("\"1301\""), Errc::kContentFilter, Verdict::kClientFault});
  rows.push_back({200, body("1301"), Errc::kContentFilter, Verdict::kClientFault});
  check_rows(rows);
}

TEST_CASE("api classify: unknown or missing codes go by HTTP status", "[api][classify]") {
  const std::vector<Row> rows = {
      {401, "", Errc::kUpstreamError, Verdict::kDead},
      {401, R"({"error":{"message":"Authorization Token Missing"}})", Errc::kUpstreamError,
       Verdict::kDead},
      {403, body("\"9999\""), Errc::kUpstreamError, Verdict::kDead},
      {429, body("\"9999\""), Errc::kRateLimitExceeded, Verdict::kCooldown, 5000},
      {429, "Too Many Requests", Errc::kRateLimitExceeded, Verdict::kCooldown, 5000},
      {500, "<html><body>Internal Server Error</body></html>", Errc::kUpstreamError,
       Verdict::kTransient},
      {502, "", Errc::kUpstreamError, Verdict::kTransient},
      {503, body("\"abc\""), Errc::kUpstreamOverloaded, Verdict::kTransient},
      {400, body("\"9999\""), Errc::kInvalidValue, Verdict::kClientFault},
      {422, "not json", Errc::kInvalidValue, Verdict::kClientFault},
      {408, "", Errc::kUpstreamError, Verdict::kTransient},
      // 404 without an error object: the configured base URL is wrong for every key.
      {404, "<html>404 Not Found</html>", Errc::kUpstreamError, Verdict::kUpstreamWide},
      {404, body("\"9999\""), Errc::kInvalidValue, Verdict::kClientFault},
      // An error frame inside a 200 stream with no known code.
      {200, R"({"error":{"message":"oops"}})", Errc::kUpstreamError, Verdict::kTransient},
      // Older top-level shape.
      {200, R"({"code":1302,"msg":"busy","success":false})", Errc::kRateLimitExceeded,
       Verdict::kCooldown, 5000},
      {400, R"({"error":"bad thing"})", Errc::kInvalidValue, Verdict::kClientFault},
  };
  check_rows(rows);
}

TEST_CASE("api classify: messages", "[api][classify]") {
  SECTION("fixed text with the code") {
    CHECK(api::classify_failure(401, body("\"1002\"", "Authorization Token invalid"), kNow)
              .error.message == "upstream rejected the API key (code 1002)");
    CHECK(api::classify_failure(401, "", kNow).error.message ==
          "upstream rejected the API key (HTTP 401)");
    CHECK(api::classify_failure(429, body("\"1113\""), kNow)
              .error.message.find("insufficient balance") != std::string::npos);
  }
  SECTION("client faults quote upstream's message") {
    CHECK(api::classify_failure(400, body("\"1214\"", "messages 参数非法。请检查文档。"), kNow)
              .error.message ==
          "upstream refused the request: messages 参数非法。请检查文档。 (code 1214)");
    CHECK(api::classify_failure(400, body("\"9999\"", "odd\\nthing"), kNow).error.message ==
          "upstream refused the request: odd thing (HTTP 400, code 9999)");
  }
  SECTION("never raw HTML") {
    const UpstreamFailure f = api::classify_failure(502, "<html><b>Bad Gateway</b></html>", kNow);
    CHECK(f.error.message == "upstream error (HTTP 502)");
  }
  SECTION("key-like strings are redacted") {
    const std::string key = "0123456789abcdef0123456789abcdef.AbCdEfGhIjKlMnOp";
    const UpstreamFailure f = api::classify_failure(
        400, body("\"1214\"", "key " + key + " with request 20260313050242595b2cb031a74737"), kNow);
    CHECK(f.error.message.find(key) == std::string::npos);
    CHECK(f.error.message.find(key.substr(0, 20)) == std::string::npos);
    CHECK(f.error.message ==
          "upstream refused the request: key [redacted] with request "
          "20260313050242595b2cb031a74737 (code 1214)");
  }
  SECTION("long messages are cut on a UTF-8 boundary") {
    std::string long_msg;
    for (int i = 0; i < 150; ++i) long_msg += "错";  // 3 bytes each
    const std::string m =
        api::classify_failure(400, body("\"1214\"", long_msg), kNow).error.message;
    const std::string prefix = "upstream refused the request: ";
    REQUIRE(m.size() > prefix.size());
    const std::string quoted = m.substr(prefix.size(), m.find(" (code") - prefix.size());
    CHECK(quoted.size() == 198 + std::string("…").size());
    CHECK(quoted.substr(0, 198) == long_msg.substr(0, 198));
  }
}

TEST_CASE("api reset time: UTC+8 arithmetic", "[api][classify]") {
  using api::detail::find_utc8_time;
  using api::detail::format_utc8;
  using api::detail::next_utc8_midnight;
  CHECK(next_utc8_midnight(kNow) == kNextUtc8Midnight);
  CHECK(next_utc8_midnight(kNextUtc8Midnight) == kNextUtc8Midnight + 24 * kH);
  CHECK(next_utc8_midnight(kNextUtc8Midnight - 1) == kNextUtc8Midnight);
  CHECK(next_utc8_midnight(0) == 16 * kH);  // 1970-01-01 08:00 UTC+8 -> midnight 16:00 UTC
  CHECK(next_utc8_midnight(-1) == 16 * kH);

  CHECK(find_utc8_time("at 2026-11-26 18:00:00.") == 1795687200000);
  CHECK(find_utc8_time("2026-11-26 18:00") == 1795687200000);
  CHECK(find_utc8_time("2024-02-29 00:00:00") == 1709136000000);
  CHECK_FALSE(find_utc8_time("2025-02-29 00:00:00"));
  CHECK_FALSE(find_utc8_time("2025-11-26 24:00:00"));
  CHECK_FALSE(find_utc8_time("2025-11-26"));
  CHECK_FALSE(find_utc8_time("12025-11-26 10:00:00"));
  CHECK(find_utc8_time("bad 2025-13-26 10:00:00 then 2025-11-26 23:30:00") == 1764171000000);

  CHECK(format_utc8(1795687200000) == "2026-11-26 18:00:00");
  CHECK(format_utc8(kNow) == "2025-11-26 18:00:00");
  CHECK(format_utc8(0) == "1970-01-01 08:00:00");
}
