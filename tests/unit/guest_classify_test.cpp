#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "upstream/guest/classify.h"
#include "upstream/guest/guest.h"

using namespace zproxy;

namespace {

struct Row {
  int status;
  std::string body;
  Verdict verdict;
  Errc code;
  std::string words;  // a phrase the message must contain
};

void check_row(const UpstreamFailure& f, const Row& row) {
  CHECK(f.verdict == row.verdict);
  CHECK(f.error.code == row.code);
  CHECK(f.error.message.find(row.words) != std::string::npos);
  CHECK(f.error.message.find('<') == std::string::npos);  // never upstream markup
}

}  // namespace

TEST_CASE("guest classify_http_failure", "[guest][classify]") {
  const std::vector<Row> rows = {
      {401, R"({"detail":"Not authenticated"})", Verdict::kDead, Errc::kUpstreamError, "token"},
      {401, "", Verdict::kDead, Errc::kUpstreamError, "HTTP 401"},
      {429, "", Verdict::kCooldown, Errc::kRateLimitExceeded, "busy"},
      {400, R"({"detail":"concurrency limit exceeded for this user"})", Verdict::kCooldown,
       Errc::kRateLimitExceeded, "busy"},
      {405, "<html><head><title>405</title></head><body>WAF</body></html>", Verdict::kUpstreamWide,
       Errc::kUpstreamRejected, "upstream firewall blocked the request"},
      {403, "<!DOCTYPE html>\n<html>Access denied</html>", Verdict::kUpstreamWide,
       Errc::kUpstreamRejected, "firewall"},
      {405, R"({"detail":"Method Not Allowed"})", Verdict::kUpstreamWide, Errc::kUpstreamRejected,
       "firewall"},
      {400, R"({"detail":"[InvalidRequest] Signature validation failed"})", Verdict::kUpstreamWide,
       Errc::kUpstreamRejected, "UPSTREAM_MODE=api"},
      {400, R"({"detail":"FRONTEND_CAPTCHA_REQUIRED"})", Verdict::kUpstreamWide,
       Errc::kUpstreamRejected, "CAPTCHA"},
      {200, R"({"error":{"code":426,"detail":"upgrade"}})", Verdict::kUpstreamWide,
       Errc::kUpstreamRejected, "ZAI_FE_VERSION"},
      {403, R"({"detail":"Model not available for current user level"})", Verdict::kClientFault,
       Errc::kModelNotAvailable, "not available to guest accounts"},
      {500, R"({"detail":"Internal Server Error"})", Verdict::kTransient, Errc::kUpstreamError,
       "HTTP 500"},
      {502, "Bad Gateway", Verdict::kTransient, Errc::kUpstreamError, "HTTP 502"},
      {503, "<html>down</html>", Verdict::kUpstreamWide, Errc::kUpstreamRejected, "firewall"},
      {400, R"({"detail":"messages: field required"})", Verdict::kClientFault, Errc::kUpstreamError,
       "messages: field required"},
      {404, "", Verdict::kClientFault, Errc::kUpstreamError, "HTTP 404"},
      {422, R"({"error":{"message":"bad","code":"1214"}})", Verdict::kClientFault,
       Errc::kUpstreamError, "HTTP 422, code 1214"},
  };
  for (const Row& row : rows) {
    INFO(row.status << " " << row.body);
    check_row(guest::classify_http_failure(row.status, row.body), row);
  }
}

TEST_CASE("guest classify_error (in-stream frames)", "[guest][classify]") {
  struct Frame {
    int64_t code;
    std::string code_text;
    std::string detail;
    Verdict verdict;
    Errc errc;
    std::string words;
  };
  const std::vector<Frame> rows = {
      {426, "", "Client version is outdated", Verdict::kUpstreamWide, Errc::kUpstreamRejected,
       "set ZAI_FE_VERSION"},
      {0, "FRONTEND_CAPTCHA_REQUIRED", "", Verdict::kUpstreamWide, Errc::kUpstreamRejected,
       "CAPTCHA"},
      {403, "", "Model not available for current user level", Verdict::kClientFault,
       Errc::kModelNotAvailable, "use API mode"},
      {403, "", "Forbidden", Verdict::kClientFault, Errc::kUpstreamError, "code 403"},
      {401, "", "", Verdict::kDead, Errc::kUpstreamError, "guest token"},
      {429, "", "", Verdict::kCooldown, Errc::kRateLimitExceeded, "busy"},
      {0, "", "当前并发请求过多", Verdict::kCooldown, Errc::kRateLimitExceeded, "busy"},
      {500, "", "oops", Verdict::kTransient, Errc::kUpstreamError, "code 500"},
      {0, "", "something broke", Verdict::kTransient, Errc::kUpstreamError, "something broke"},
      {0, "", "<html>x</html>", Verdict::kTransient, Errc::kUpstreamError, "upstream failed"},
  };
  for (const Frame& row : rows) {
    INFO(row.code << " " << row.code_text << " " << row.detail);
    guest::UpstreamErrorInfo info{row.code, row.code_text, row.detail};
    const UpstreamFailure f = guest::classify_error(200, info);
    CHECK(f.verdict == row.verdict);
    CHECK(f.error.code == row.errc);
    CHECK(f.error.message.find(row.words) != std::string::npos);
    CHECK(f.error.message.find('<') == std::string::npos);
  }
}

TEST_CASE("guest classify: long details are shortened at a character boundary",
          "[guest][classify]") {
  std::string detail;
  for (int i = 0; i < 100; ++i) detail += "错";
  const UpstreamFailure f = guest::classify_error(200, guest::UpstreamErrorInfo{0, "", detail});
  CHECK(f.error.message.size() < 260);
  CHECK(f.error.message.find("…") != std::string::npos);
  CHECK(f.error.message.find("错错") != std::string::npos);
  // valid UTF-8: the cut did not split the three-byte character before the ellipsis
  const size_t ell = f.error.message.find("…");
  CHECK(f.error.message.substr(ell - 3, 3) == "错");
}
