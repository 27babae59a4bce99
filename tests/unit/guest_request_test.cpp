#include <catch2/catch.hpp>

#include <string>

#include "dialect/openai_chat/chat_request.h"
#include "json/json.h"
#include "upstream/guest/guest.h"
#include "upstream/guest/utc_datetime.h"

using namespace zproxy;

namespace {

Config test_config() {
  Config c;
  c.zai_base_url = "https://chat.example";
  c.zai_auth_path = "/api/v1/auths/";
  c.zai_chat_path = "/api/chat/completions";
  c.zai_fe_version = "prod-fe-1.0.99";
  c.zai_user_agent = "z-ai-proxy/0.1.0";
  c.zai_accept_language = "en-US,en;q=0.9";
  return c;
}

std::string headers_text(const UpstreamRequest& r) {
  std::string out;
  for (const Header& h : r.headers) out += h.name + ": " + h.value + "\n";
  return out;
}

// The canonical request of a client body.
CanonicalRequest chat_request(std::string_view body) {
  auto parsed = parse_chat_request(body);
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

// A user message holding one image part.
Message image_message() {
  Message m;
  m.role = Role::kUser;
  m.form = ContentForm::kParts;
  m.parts.push_back(Part{PartKind::kImage, "https://e.com/a.png", {}});
  return m;
}

}  // namespace

TEST_CASE("guest token request", "[guest][request]") {
  Config c = test_config();
  UpstreamRequest r = guest::build_token_request(c);
  CHECK(r.method == "GET");
  CHECK(r.url == "https://chat.example/api/v1/auths/");
  CHECK(r.body.empty());
  CHECK(headers_text(r) ==
        "Accept: application/json\n"
        "Accept-Language: en-US,en;q=0.9\n"
        "Origin: https://chat.example\n"
        "Referer: https://chat.example/\n"
        "User-Agent: z-ai-proxy/0.1.0\n"
        "X-FE-Version: prod-fe-1.0.99\n");

  SECTION("extra headers come last and replace defaults of the same name") {
    c.zai_extra_headers = {{"x-fe-version", "prod-fe-2.0.0"}, {"X-Extra", "1"}};
    CHECK(headers_text(guest::build_token_request(c)) ==
          "Accept: application/json\n"
          "Accept-Language: en-US,en;q=0.9\n"
          "Origin: https://chat.example\n"
          "Referer: https://chat.example/\n"
          "User-Agent: z-ai-proxy/0.1.0\n"
          "x-fe-version: prod-fe-2.0.0\n"
          "X-Extra: 1\n");
  }
  SECTION("empty settings send no header") {
    c.zai_accept_language.clear();
    c.zai_fe_version.clear();
    CHECK(headers_text(guest::build_token_request(c)).find("Accept-Language") == std::string::npos);
    CHECK(headers_text(guest::build_token_request(c)).find("X-FE-Version") == std::string::npos);
  }
}

TEST_CASE("guest token response", "[guest][request]") {
  auto ok = guest::parse_token_response(
      200,
      R"({"id":"602822e2","email":"Guest-1@guest.com","role":"guest","token":"eyJhbGciOi.x.y","token_type":"Bearer","expires_at":null})");
  REQUIRE(ok.ok());
  CHECK(*ok == "eyJhbGciOi.x.y");

  struct Row {
    int status;
    std::string body;
    Errc code;
  };
  const std::vector<Row> rows = {
      {405, "<html><body>Blocked by firewall</body></html>", Errc::kUpstreamRejected},
      {405, "", Errc::kUpstreamRejected},
      {200, "\n  <!DOCTYPE html><html>challenge</html>", Errc::kUpstreamRejected},
      {500, R"({"detail":"boom"})", Errc::kUpstreamBadResponse},
      {429, R"({"token":"t"})", Errc::kUpstreamBadResponse},
      {200, "not json", Errc::kUpstreamBadResponse},
      {200, "[]", Errc::kUpstreamBadResponse},
      {200, R"({"id":"x"})", Errc::kUpstreamBadResponse},
      {200, R"({"token":""})", Errc::kUpstreamBadResponse},
      {200, R"({"token":42})", Errc::kUpstreamBadResponse},
  };
  for (const Row& row : rows) {
    INFO(row.status << " " << row.body);
    auto r = guest::parse_token_response(row.status, row.body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == row.code);
    CHECK(r.error().message.find('<') == std::string::npos);
    CHECK(r.error().message.find("Blocked") == std::string::npos);
  }
}

TEST_CASE("guest chat request", "[guest][request]") {
  Config c = test_config();
  c.zai_extra_headers = {{"accept-language", "zh-CN"}};
  CanonicalRequest req = chat_request(R"({"model":"glm-4.6","messages":[
      {"role":"system","content":"Be brief."},
      {"role":"user","content":[{"type":"text","text":"Hello"},{"type":"text","text":" 世界😀"}]},
      {"role":"assistant","content":null},
      {"role":"user","content":"Again \"quoted\""}]})");
  req.temperature = 0.7;
  req.max_tokens = 256;
  guest::ChatIds ids{"11111111-2222-4333-8444-555555555555",
                     "66666666-7777-4888-9999-000000000000"};
  UpstreamRequest r = guest::build_chat_request(req, c, "GLM-4-6-API-V1", "tok", ids,
                                                1764151200000);  // 2025-11-26 10:00:00 UTC
  CHECK(r.method == "POST");
  CHECK(r.url == "https://chat.example/api/chat/completions");
  CHECK(headers_text(r) ==
        "Authorization: Bearer tok\n"
        "Content-Type: application/json\n"
        "Accept: text/event-stream\n"
        "Origin: https://chat.example\n"
        "Referer: https://chat.example/c/11111111-2222-4333-8444-555555555555\n"
        "User-Agent: z-ai-proxy/0.1.0\n"
        "X-FE-Version: prod-fe-1.0.99\n"
        "accept-language: zh-CN\n");
  CHECK(
      r.body ==
      R"({"stream":true,"model":"GLM-4-6-API-V1","messages":[)"
      R"({"role":"system","content":"Be brief."},)"
      R"({"role":"user","content":[{"type":"text","text":"Hello"},{"type":"text","text":" 世界😀"}]},)"
      R"({"role":"assistant","content":""},)"
      R"({"role":"user","content":"Again \"quoted\""}],)"
      R"("params":{"temperature":0.7,"max_tokens":256},)"
      R"("features":{"image_generation":false,"web_search":false,"auto_web_search":false,)"
      R"("preview_mode":false,"enable_thinking":true},)"
      R"("variables":{"{{USER_NAME}}":"Guest","{{CURRENT_DATETIME}}":"2025-11-26 10:00:00"},)"
      R"("chat_id":"11111111-2222-4333-8444-555555555555",)"
      R"("id":"66666666-7777-4888-9999-000000000000",)"
      R"("background_tasks":{"title_generation":false,"tags_generation":false},)"
      R"("mcp_servers":[]})");

  SECTION("thinking off, all params, trailing slash on the base") {
    c.zai_base_url = "https://chat.example/";
    req.thinking = ThinkingSwitch::kDisabled;
    req.top_p = 0.5;
    req.temperature.reset();
    UpstreamRequest r2 = guest::build_chat_request(req, c, "m", "t", ids, 0);
    CHECK(r2.url == "https://chat.example/api/chat/completions");
    auto doc = parse_json(r2.body);
    REQUIRE(doc.ok());
    CHECK(json_dump(doc->member("params")) == R"({"top_p":0.5,"max_tokens":256})");
    CHECK(doc->member("features").member("enable_thinking").boolean() == false);
    CHECK(json_dump(doc->member("variables")) ==
          R"({"{{USER_NAME}}":"Guest","{{CURRENT_DATETIME}}":"1970-01-01 00:00:00"})");
  }
  SECTION("no params given: an empty object") {
    req.temperature.reset();
    req.max_tokens.reset();
    auto doc = parse_json(guest::build_chat_request(req, c, "m", "t", ids, 0).body);
    REQUIRE(doc.ok());
    CHECK(json_dump(doc->member("params")) == "{}");
  }
}

TEST_CASE("guest UTC datetime", "[guest][request]") {
  CHECK(guest::format_utc_datetime(0) == "1970-01-01 00:00:00");
  CHECK(guest::format_utc_datetime(951782400000) == "2000-02-29 00:00:00");
  CHECK(guest::format_utc_datetime(1798761599999) == "2026-12-31 23:59:59");
  CHECK(guest::format_utc_datetime(-1) == "1969-12-31 23:59:59");
  CHECK(guest::format_utc_datetime(4107542400000) == "2100-03-01 00:00:00");
}

TEST_CASE("guest check_request", "[guest][request]") {
  struct Row {
    std::string body;
    std::string param;  // empty: accepted
  };
  const std::vector<Row> rows = {
      {R"({"model":"m","messages":[{"role":"user","content":"hi"}]})", ""},
      {R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]}]})",
       "messages[0].content[1]"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"refusal","refusal":"no"}]}]})",
       "messages[1].content[0]"},
  };
  for (const Row& row : rows) {
    INFO(row.body);
    CanonicalRequest req = chat_request(row.body);
    Status s = guest::check_request(req);
    if (row.param.empty()) {
      CHECK(s.ok());
    } else {
      REQUIRE_FALSE(s.ok());
      CHECK(s.error().code == Errc::kUnsupportedValue);
      CHECK(s.error().param == row.param);
    }
  }

  CanonicalRequest req =
      chat_request(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  auto refused = [&](const char* param) {
    Status s = guest::check_request(req);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == Errc::kUnsupportedValue);
    CHECK(s.error().param == param);
  };
  SECTION("tools") {
    req.tools.push_back(Tool{"f", {}, {}, {}}), refused("tools");
  }
  SECTION("tool_choice") {
    req.tool_choice = ToolChoice::kAuto, refused("tool_choice");
  }
  SECTION("image part") {
    req.messages.push_back(image_message());
    refused("messages[1].content[0]");
  }
  SECTION("n") {
    req.n = 2, refused("n");
  }
  SECTION("logprobs") {
    req.logprobs = true, refused("logprobs");
  }
  SECTION("json_object") {
    req.response_format = ResponseFormat::kJsonObject, refused("response_format");
  }
  SECTION("text format and n = 1 pass") {
    req.response_format = ResponseFormat::kText;
    CHECK(guest::check_request(req).ok());
  }
}
