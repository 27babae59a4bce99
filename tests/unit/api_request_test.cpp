// API mode: check_request (docs/contract.md §5.2, API column) and build_chat_request
// (docs/upstream.md §2.2), compared as exact bytes.

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "dialect/openai_chat/chat_request.h"
#include "upstream/zai_api/api.h"

using namespace zproxy;

namespace {

// The canonical request of a client body (`messages`, `tools`), whose other fields are then
// set by `set`.
CanonicalRequest request(std::string_view text,
                         const std::function<void(CanonicalRequest&)>& set = {}) {
  std::string body(text);
  body.insert(1, R"("model":"glm-4.6",)");
  auto parsed = parse_chat_request(body);
  REQUIRE(parsed.ok());
  CanonicalRequest r = std::move(parsed).value();
  r.stream = false;
  if (set) set(r);
  return r;
}

Config config() {
  Config c;
  c.zai_api_base_url = "https://api.z.ai/api/paas/v4";
  c.zai_user_agent = "z-ai-proxy/0.1.0";
  return c;
}

std::string build_body(const CanonicalRequest& r, std::string_view request_id = "zp-req-0001") {
  return api::build_chat_request(r, config(), "glm-4.6", "key-1234", request_id).body;
}

constexpr std::string_view kHi = R"({"messages":[{"role":"user","content":"Hi"}]})";
const std::string kHiOut = R"({"model":"glm-4.6","messages":[{"role":"user","content":"Hi"}],)";

// A user message holding one image part.
Message image_message() {
  Message m;
  m.role = Role::kUser;
  m.form = ContentForm::kParts;
  m.parts.push_back(Part{PartKind::kImage, "https://e.com/a.png", {}});
  return m;
}

}  // namespace

TEST_CASE("api check_request refuses what API mode cannot serve", "[api][request]") {
  struct Row {
    std::string name;
    std::function<void(CanonicalRequest&)> set;
    std::string param;  // empty: accepted
  };
  const std::vector<Row> rows = {
      {"plain", [](CanonicalRequest&) {}, ""},
      {"tool_choice auto", [](CanonicalRequest& r) { r.tool_choice = ToolChoice::kAuto; }, ""},
      {"tool_choice none", [](CanonicalRequest& r) { r.tool_choice = ToolChoice::kNone; }, ""},
      {"tool_choice required", [](CanonicalRequest& r) { r.tool_choice = ToolChoice::kRequired; },
       "tool_choice"},
      {"tool_choice function", [](CanonicalRequest& r) { r.tool_choice = ToolChoice::kFunction; },
       "tool_choice"},
      {"n 1", [](CanonicalRequest& r) { r.n = 1; }, ""},
      {"n 2", [](CanonicalRequest& r) { r.n = 2; }, "n"},
      {"logprobs", [](CanonicalRequest& r) { r.logprobs = true; }, "logprobs"},
      {"json_object", [](CanonicalRequest& r) { r.response_format = ResponseFormat::kJsonObject; },
       ""},
      {"text", [](CanonicalRequest& r) { r.response_format = ResponseFormat::kText; }, ""},
      // Emulated (JSON_SCHEMA=emulate); JSON_SCHEMA=refuse is the engine's rule.
      {"json_schema", [](CanonicalRequest& r) { r.response_format = ResponseFormat::kJsonSchema; },
       ""},
      {"images", [](CanonicalRequest& r) { r.messages.push_back(image_message()); }, ""},
      {"tools",
       [](CanonicalRequest& r) {
         r.tools.push_back(Tool{"w", {}, {}, {}});
       },
       ""},
      {"stop x4",
       [](CanonicalRequest& r) {
         r.stop = {"a", "b", "c", "d"};
       },
       ""},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    CanonicalRequest r;
    row.set(r);
    const Status s = api::check_request(r);
    CHECK(s.ok() == row.param.empty());
    if (!s.ok()) {
      CHECK(s.error().code == Errc::kUnsupportedValue);
      CHECK(s.error().param == row.param);
    }
  }
}

TEST_CASE("api build_chat_request: URL and headers", "[api][request]") {
  Config c = config();
  c.zai_extra_headers = {{"X-Trace", "1"}, {"user-agent", "custom/2"}, {"authorization", "no"}};
  SECTION("streaming") {
    const UpstreamRequest up =
        api::build_chat_request(request(kHi, [](CanonicalRequest& r) { r.stream = true; }), c,
                                "glm-4.6", "abc.def", "zp-1234");
    CHECK(up.method == "POST");
    CHECK(up.url == "https://api.z.ai/api/paas/v4/chat/completions");
    std::vector<std::string> headers;
    for (const Header& h : up.headers) headers.push_back(h.name + ": " + h.value);
    CHECK(headers == std::vector<std::string>{"Authorization: Bearer abc.def",
                                              "Content-Type: application/json",
                                              "Accept: text/event-stream", "User-Agent: custom/2",
                                              "Accept-Encoding: identity", "X-Trace: 1"});
  }
  SECTION("not streaming, no user agent configured") {
    c.zai_extra_headers.clear();
    c.zai_user_agent.clear();
    const UpstreamRequest up = api::build_chat_request(request(kHi), c, "glm-4.6", "k", "zp-1234");
    std::vector<std::string> headers;
    for (const Header& h : up.headers) headers.push_back(h.name + ": " + h.value);
    CHECK(headers ==
          std::vector<std::string>{"Authorization: Bearer k", "Content-Type: application/json",
                                   "Accept: application/json", "Accept-Encoding: identity"});
  }
}

TEST_CASE("api build_chat_request: top-level fields", "[api][request]") {
  struct Row {
    std::string name;
    std::function<void(CanonicalRequest&)> set;
    std::string tail;  // the body after kHiOut
  };
  const std::vector<Row> rows = {
      {"minimal", [](CanonicalRequest&) {}, R"("stream":false,"request_id":"zp-req-0001"})"},
      {"stream, include_usage not forwarded",
       [](CanonicalRequest& r) {
         r.stream = true;
         r.include_usage = true;
       },
       R"("stream":true,"request_id":"zp-req-0001"})"},
      {"thinking enabled", [](CanonicalRequest& r) { r.thinking = ThinkingSwitch::kEnabled; },
       R"("stream":false,"thinking":{"type":"enabled"},"request_id":"zp-req-0001"})"},
      {"thinking disabled", [](CanonicalRequest& r) { r.thinking = ThinkingSwitch::kDisabled; },
       R"("stream":false,"thinking":{"type":"disabled"},"request_id":"zp-req-0001"})"},
      {"max_tokens", [](CanonicalRequest& r) { r.max_tokens = 1024; },
       R"("stream":false,"max_tokens":1024,"request_id":"zp-req-0001"})"},
      {"sampling",
       [](CanonicalRequest& r) {
         r.temperature = 0.7;
         r.top_p = 0.95;
       },
       R"("stream":false,"temperature":0.7,"top_p":0.95,"request_id":"zp-req-0001"})"},
      {"first stop word only",
       [](CanonicalRequest& r) {
         r.stop = {"END", "STOP", "x"};
       },
       R"("stream":false,"stop":["END"],"request_id":"zp-req-0001"})"},
      {"json_object", [](CanonicalRequest& r) { r.response_format = ResponseFormat::kJsonObject; },
       R"("stream":false,"response_format":{"type":"json_object"},"request_id":"zp-req-0001"})"},
      {"text format omitted",
       [](CanonicalRequest& r) { r.response_format = ResponseFormat::kText; },
       R"("stream":false,"request_id":"zp-req-0001"})"},
      {"user 6 chars", [](CanonicalRequest& r) { r.user = "user-1"; },
       R"("stream":false,"request_id":"zp-req-0001","user_id":"user-1"})"},
      {"user too short", [](CanonicalRequest& r) { r.user = "bob"; },
       R"("stream":false,"request_id":"zp-req-0001"})"},
      {"user too long", [](CanonicalRequest& r) { r.user = std::string(129, 'u'); },
       R"("stream":false,"request_id":"zp-req-0001"})"},
      {"user 128 chars", [](CanonicalRequest& r) { r.user = std::string(128, 'u'); },
       R"("stream":false,"request_id":"zp-req-0001","user_id":")" + std::string(128, 'u') + "\"}"},
      {"everything",
       [](CanonicalRequest& r) {
         r.stream = true;
         r.thinking = ThinkingSwitch::kDisabled;
         r.max_tokens = 5;
         r.temperature = 1.0;
         r.top_p = 0.5;
         r.stop = {"\n\n"};
         r.response_format = ResponseFormat::kJsonObject;
         r.user = "someone@example.com";
       },
       R"("stream":true,"thinking":{"type":"disabled"},"max_tokens":5,"temperature":1.0,)"
       R"("top_p":0.5,"stop":["\n\n"],"response_format":{"type":"json_object"},)"
       R"("request_id":"zp-req-0001","user_id":"someone@example.com"})"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    CHECK(build_body(request(kHi, row.set)) == kHiOut + row.tail);
  }
  SECTION("request_id outside 6..64 characters is left out") {
    CHECK(build_body(request(kHi), "zp-1") == kHiOut + R"("stream":false})");
    CHECK(build_body(request(kHi), std::string(65, 'r')) == kHiOut + R"("stream":false})");
    CHECK(build_body(request(kHi), std::string(64, 'r')) ==
          kHiOut + R"("stream":false,"request_id":")" + std::string(64, 'r') + "\"}");
  }
  SECTION("model is the upstream id") {
    const UpstreamRequest up =
        api::build_chat_request(request(kHi), config(), "glm-4.6-x", "k", "zp-req-0001");
    CHECK(up.body.rfind(R"({"model":"glm-4.6-x","messages":)", 0) == 0);
  }
}

TEST_CASE("api build_chat_request: tools and tool_choice", "[api][request]") {
  const std::string body =
      R"({"messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"function",)"
      R"("function":{"name":"w","parameters":{"type":"object","properties":{}}}}]})";
  const std::string head =
      R"({"model":"glm-4.6","messages":[{"role":"user","content":"Weather?"}],)"
      R"("stream":false,)";
  const std::string tools =
      R"("tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object",)"
      R"("properties":{}}}}])";
  const std::string id = R"("request_id":"zp-req-0001"})";
  CHECK(build_body(request(body)) == head + tools + "," + id);
  CHECK(build_body(request(body, [](CanonicalRequest& r) { r.tool_choice = ToolChoice::kAuto; })) ==
        head + tools + R"(,"tool_choice":"auto",)" + id);
  CHECK(build_body(request(body, [](CanonicalRequest& r) { r.tool_choice = ToolChoice::kNone; })) ==
        head + id);
}

TEST_CASE("api build_chat_request: messages", "[api][request]") {
  struct Row {
    std::string name, in, out;  // one message in, the same message upstream
  };
  const std::vector<Row> rows = {
      {"assistant null content", R"({"role":"assistant","content":null})",
       R"({"role":"assistant","content":""})"},
      {"assistant tool call, no content",
       R"({"role":"assistant","tool_calls":[{"id":"call_1","type":"function",)"
       R"("function":{"name":"f","arguments":"{}"}}]})",
       R"({"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function",)"
       R"("function":{"name":"f","arguments":"{}"}}]})"},
      {"assistant text parts flattened",
       R"({"role":"assistant","content":[{"type":"text","text":"Hel"},{"type":"text","text":"lo"}]})",
       R"({"role":"assistant","content":"Hello"})"},
      {"assistant reasoning kept, echoes dropped",
       R"({"role":"assistant","content":"4","reasoning_content":"2+2","refusal":null,)"
       R"("annotations":[],"tool_calls":null})",
       R"({"role":"assistant","content":"4","reasoning_content":"2+2"})"},
      {"assistant empty tool_calls dropped",
       R"({"role":"assistant","content":"x","tool_calls":[]})",
       R"({"role":"assistant","content":"x"})"},
      {"assistant non-text parts kept",
       R"({"role":"assistant","content":[{"type":"text","text":"a"},{"type":"refusal","refusal":"no"}]})",
       R"({"role":"assistant","content":[{"type":"text","text":"a"},{"type":"refusal","refusal":"no"}]})"},
      {"tool message flattened, id kept",
       R"({"role":"tool","tool_call_id":"call_1","content":[{"type":"text","text":"22C"}]})",
       R"({"role":"tool","content":"22C","tool_call_id":"call_1"})"},
      {"system parts flattened",
       R"({"role":"system","content":[{"type":"text","text":"Be brief."}]})",
       R"({"role":"system","content":"Be brief."})"},
      {"developer becomes system", R"({"role":"developer","content":"Be brief."})",
       R"({"role":"system","content":"Be brief."})"},
      {"user text parts kept as array",
       R"({"role":"user","content":[{"type":"text","text":"Hi"}]})",
       R"({"role":"user","content":[{"type":"text","text":"Hi"}]})"},
      {"user image parts kept",
       R"({"role":"user","content":[{"type":"text","text":"What is this?"},)"
       R"({"type":"image_url","image_url":{"url":"https://e.com/a.png"}}],"name":"ann"})",
       R"({"role":"user","content":[{"type":"text","text":"What is this?"},)"
       R"({"type":"image_url","image_url":{"url":"https://e.com/a.png"}}],"name":"ann"})"},
      {"values copied exactly", R"({"content":"\u00e9\"\\\n😀 中文","role":"user"})",
       R"({"role":"user","content":"é\"\\\n😀 中文"})"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    const std::string body = build_body(request(R"({"messages":[)" + row.in + "]}"));
    CHECK(body == R"({"model":"glm-4.6","messages":[)" + row.out +
                      R"(],"stream":false,"request_id":"zp-req-0001"})");
  }
}

TEST_CASE("api build_chat_request from a parsed client body", "[api][request]") {
  auto parsed = parse_chat_request(
      R"({"model":"glm-4.6","stream":true,"stream_options":{"include_usage":true},)"
      R"("messages":[{"role":"system","content":"S"},{"role":"user","content":"Q"},)"
      R"({"role":"assistant","content":null,"reasoning_content":"R"},)"
      R"({"role":"user","content":"Q2"}],"max_completion_tokens":64,)"
      R"("reasoning_effort":"none","stop":"##","temperature":0.2,"user":"client-42"})");
  REQUIRE(parsed.ok());
  REQUIRE(api::check_request(*parsed).ok());
  CHECK(
      build_body(*parsed) ==
      R"({"model":"glm-4.6","messages":[{"role":"system","content":"S"},)"
      R"({"role":"user","content":"Q"},{"role":"assistant","content":"","reasoning_content":"R"},)"
      R"({"role":"user","content":"Q2"}],"stream":true,"thinking":{"type":"disabled"},)"
      R"("max_tokens":64,"temperature":0.2,"stop":["##"],"request_id":"zp-req-0001",)"
      R"("user_id":"client-42"})");

  auto schema = parse_chat_request(
      R"({"model":"glm-4.6","messages":[{"role":"user","content":"Q"}],)"
      R"("response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}}})");
  REQUIRE(schema.ok());
  // json_schema is emulated (JSON_SCHEMA=emulate): json_object and the schema as an
  // instruction after the leading system messages.
  REQUIRE(api::check_request(*schema).ok());
  const std::string emulated = build_body(*schema);
  CHECK(emulated.find(R"("response_format":{"type":"json_object"})") != std::string::npos);
  CHECK(emulated.find(R"({"role":"system","content":"Answer with one JSON value only)") <
        emulated.find(R"({"role":"user","content":"Q"})"));

  auto forced = parse_chat_request(
      R"({"model":"glm-4.6","messages":[{"role":"user","content":"Q"}],"tools":[{"type":)"
      R"("function","function":{"name":"f"}}],"tool_choice":{"type":"function",)"
      R"("function":{"name":"f"}}})");
  REQUIRE(forced.ok());
  const Status refused = api::check_request(*forced);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().param == "tool_choice");
}
