#include "dialect/anthropic_messages/messages_request.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace zproxy {
namespace {

// A valid body with `extra` spliced in as further top-level members (`extra` starts with ',').
std::string body_with(const std::string& extra) {
  return R"({"model":"claude-sonnet-4-5","max_tokens":64,)"
         R"("messages":[{"role":"user","content":"hi"}])" +
         extra + "}";
}

// A body whose messages are `messages` (the inside of the array).
std::string body_msgs(const std::string& messages) {
  return R"({"model":"m","max_tokens":8,"messages":[)" + messages + "]}";
}

MessagesRequest parse_ok(const std::string& body, MessagesRoute route = MessagesRoute::kCreate) {
  Result<MessagesRequest> r = parse_messages_request(body, route);
  if (!r.ok()) FAIL("unexpected error: " << r.error().message << " param=" << r.error().param);
  return std::move(r).value();
}

}  // namespace

TEST_CASE("messages request: minimal body and the Anthropic defaults") {
  const MessagesRequest m = parse_ok(body_with(""));
  const CanonicalRequest& r = m.canonical;
  CHECK(r.model == "claude-sonnet-4-5");
  CHECK(r.max_tokens == 64);
  CHECK_FALSE(r.stream);
  CHECK(r.thinking == ThinkingSwitch::kDisabled);  // absent is off, unlike Z.AI
  CHECK(r.tool_choice == ToolChoice::kAbsent);
  CHECK(r.stop.empty());
  CHECK(r.user.empty());
  CHECK(m.thinking_text);
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].role == Role::kUser);
  CHECK(r.messages[0].form == ContentForm::kString);
  REQUIRE(r.messages[0].parts.size() == 1);
  CHECK(r.messages[0].parts[0].text == "hi");
  // ⌈2/3⌉ + 4·1
  CHECK(m.input_estimate == 5);
}

TEST_CASE("messages request: scalar fields") {
  const MessagesRequest m = parse_ok(
      body_with(R"(,"stream":true,"temperature":0.5,"top_p":0.9,"stop_sequences":["END","##"],)"
                R"("metadata":{"user_id":"user-42","other":1},"thinking":{"type":"adaptive"},)"
                R"("output_config":{"effort":"high"},"context_management":{"edits":[]},)"
                R"("service_tier":"auto","anthropic_unknown":[1,2])"));
  const CanonicalRequest& r = m.canonical;
  CHECK(r.stream);
  CHECK(r.temperature == 0.5);
  CHECK(r.top_p == 0.9);
  CHECK(r.stop == std::vector<std::string>{"END", "##"});
  CHECK(r.user == "user-42");
  CHECK(r.thinking == ThinkingSwitch::kEnabled);
  CHECK(r.reasoning_effort == "high");
}

TEST_CASE("messages request: thinking config") {
  struct Row {
    std::string thinking;
    ThinkingSwitch expected;
    bool text;
  };
  const std::vector<Row> rows = {
      {R"({"type":"enabled","budget_tokens":1024})", ThinkingSwitch::kEnabled, true},
      {R"({"type":"adaptive"})", ThinkingSwitch::kEnabled, true},
      {R"({"type":"disabled"})", ThinkingSwitch::kDisabled, true},
      {R"({"type":"enabled","budget_tokens":2048,"display":"omitted"})", ThinkingSwitch::kEnabled,
       false},
      {"null", ThinkingSwitch::kDisabled, true},
  };
  for (const Row& row : rows) {
    INFO(row.thinking);
    const MessagesRequest m = parse_ok(body_with(R"(,"thinking":)" + row.thinking));
    CHECK(m.canonical.thinking == row.expected);
    CHECK(m.thinking_text == row.text);
  }
}

TEST_CASE("messages request: system as string or blocks, billing line dropped") {
  const MessagesRequest a = parse_ok(body_with(R"(,"system":"be brief")"));
  REQUIRE(a.canonical.messages.size() == 2);
  CHECK(a.canonical.messages[0].role == Role::kSystem);
  CHECK(a.canonical.messages[0].parts[0].text == "be brief");

  const MessagesRequest b = parse_ok(
      body_with(R"(,"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=1"},)"
                R"({"type":"text","text":"one","cache_control":{"type":"ephemeral"}},)"
                R"({"type":"text","text":"two"}])"));
  REQUIRE(b.canonical.messages.size() == 2);
  CHECK(b.canonical.messages[0].form == ContentForm::kString);
  CHECK(b.canonical.messages[0].parts[0].text == "one\n\ntwo");

  // Only the billing line: no system message at all.
  const MessagesRequest c =
      parse_ok(body_with(R"(,"system":[{"type":"text","text":"x-anthropic-billing-header: a"}])"));
  CHECK(c.canonical.messages.size() == 1);
  // A mid-conversation system message stays in place.
  const MessagesRequest d =
      parse_ok(body_msgs(R"({"role":"user","content":"a"},{"role":"system","content":"note"},)"
                         R"({"role":"user","content":[{"type":"text","text":"b"}]})"));
  REQUIRE(d.canonical.messages.size() == 3);
  CHECK(d.canonical.messages[1].role == Role::kSystem);
  CHECK(d.canonical.messages[2].form == ContentForm::kParts);
}

TEST_CASE("messages request: history with thinking, tool_use and tool_result") {
  const MessagesRequest m = parse_ok(body_msgs(
      R"({"role":"user","content":"weather?"},)"
      R"({"role":"assistant","content":[{"type":"thinking","thinking":"think","signature":"s"},)"
      R"({"type":"redacted_thinking","data":"zz"},{"type":"text","text":"checking"},)"
      R"({"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}}]},)"
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","is_error":true,)"
      R"("content":[{"type":"text","text":"sunny"},{"type":"text","text":"20C"},)"
      R"({"type":"image","source":{"type":"url","url":"https://x/y.png"}},)"
      R"({"type":"tool_reference","tool_name":"t2"}]},)"
      R"({"type":"tool_result","tool_use_id":"call_2","content":"plain"},)"
      R"({"type":"text","text":"thanks"}]})"));
  const auto& ms = m.canonical.messages;
  REQUIRE(ms.size() == 6);
  CHECK(ms[1].role == Role::kAssistant);
  CHECK(ms[1].reasoning == "think");
  REQUIRE(ms[1].parts.size() == 1);
  CHECK(ms[1].parts[0].text == "checking");
  REQUIRE(ms[1].tool_calls.size() == 1);
  CHECK(ms[1].tool_calls[0].id == "call_1");
  CHECK(ms[1].tool_calls[0].name == "get_weather");
  CHECK(ms[1].tool_calls[0].arguments == R"({"city":"Paris"})");
  CHECK(ms[2].role == Role::kTool);
  CHECK(ms[2].tool_call_id == "call_1");
  CHECK(ms[2].parts[0].text == "sunny\n20C\ntool_reference: t2");
  CHECK(ms[3].role == Role::kUser);  // the tool result's image, right after it
  REQUIRE(ms[3].parts.size() == 1);
  CHECK(ms[3].parts[0].kind == PartKind::kImage);
  CHECK(ms[3].parts[0].text == "https://x/y.png");
  CHECK(ms[4].role == Role::kTool);
  CHECK(ms[4].tool_call_id == "call_2");
  CHECK(ms[4].parts[0].text == "plain");
  CHECK(ms[5].role == Role::kUser);
  CHECK(ms[5].parts[0].text == "thanks");
  CHECK(m.canonical.has_image_parts());
}

TEST_CASE("messages request: a turn of tool results only adds no empty user message") {
  const MessagesRequest m = parse_ok(body_msgs(
      R"({"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f","input":{}}]},)"
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"a"}]})"));
  const auto& ms = m.canonical.messages;
  REQUIRE(ms.size() == 2);
  CHECK(ms[0].form == ContentForm::kNone);
  CHECK(ms[1].role == Role::kTool);
  CHECK(ms[1].parts[0].text.empty());
}

TEST_CASE("messages request: images") {
  const MessagesRequest m = parse_ok(
      body_msgs(R"({"role":"user","content":[{"type":"image","source":{"type":"base64",)"
                R"("media_type":"image/jpeg","data":"AAAA"}},{"type":"text","text":"what?"}]})"));
  const auto& parts = m.canonical.messages[0].parts;
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].kind == PartKind::kImage);
  CHECK(parts[0].text == "data:image/jpeg;base64,AAAA");
  // ⌈5/3⌉ + 4·1 + 1600·1
  CHECK(m.input_estimate == 2 + 4 + 1600);
}

TEST_CASE("messages request: tools and tool_choice") {
  const MessagesRequest m = parse_ok(body_with(
      R"(,"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object"},)"
      R"("cache_control":{"type":"ephemeral"},"strict":true},)"
      R"({"type":"custom","name":"b","input_schema":{}}],"tool_choice":{"type":"auto"})"));
  const CanonicalRequest& r = m.canonical;
  REQUIRE(r.tools.size() == 2);
  CHECK(r.tools[0].name == "get_weather");
  CHECK(r.tools[0].description == "Weather");
  CHECK(r.tools[0].parameters == R"({"type":"object"})");
  CHECK_FALSE(r.tools[1].description.has_value());
  CHECK(r.tool_choice == ToolChoice::kAuto);
  const MessagesRequest none =
      parse_ok(body_with(R"(,"tool_choice":{"type":"none","disable_parallel_tool_use":false})"));
  CHECK(none.canonical.tool_choice == ToolChoice::kNone);
}

TEST_CASE("messages request: the estimate counts code points, entries and images") {
  // C: system "é€" (2) + "abc" (3) + tool name "f" (1) + description "dé" (2) + schema "{}" (2)
  //    + tool_use input "{}" (2) = 12 -> 4; M = 2 -> 8.
  const MessagesRequest m = parse_ok(
      R"({"model":"m","max_tokens":1,"system":"é€","tools":[{"name":"f","description":"dé",)"
      R"("input_schema":{}}],"messages":[{"role":"user","content":"abc"},)"
      R"({"role":"assistant","content":[{"type":"tool_use","id":"i","name":"f","input":{}}]}]})");
  CHECK(m.input_estimate == 4 + 8);
}

TEST_CASE("messages request: count_tokens needs no max_tokens") {
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  CHECK(parse_ok(body, MessagesRoute::kCountTokens).canonical.max_tokens == std::nullopt);
  const Result<MessagesRequest> create = parse_messages_request(body, MessagesRoute::kCreate);
  REQUIRE_FALSE(create.ok());
  CHECK(create.error().param == "max_tokens");
  CHECK(create.error().message.rfind("max_tokens", 0) == 0);
  // max_tokens 0 is accepted; the route answers it without an upstream call.
  const std::string zero =
      R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]})";
  CHECK(parse_ok(zero).canonical.max_tokens == 0);
}

TEST_CASE("messages request: bad bodies") {
  struct Row {
    std::string body;
    Errc code;
    std::string param;
    std::string contains;  // a piece the message must hold; empty: nothing more checked
  };
  const auto E = [](const std::string& extra) { return body_with(extra); };
  const auto M = [](const std::string& messages) { return body_msgs(messages); };
  const auto U = [](const std::string& blocks) {
    return body_msgs(R"({"role":"user","content":[)" + blocks + "]}");
  };
  const auto A = [](const std::string& blocks) {
    return body_msgs(R"({"role":"assistant","content":[)" + blocks + "]}");
  };
  const std::vector<Row> rows = {
      // JSON and body shape
      {"", Errc::kInvalidJson, "", ""},
      {"{", Errc::kInvalidJson, "", ""},
      {"[]", Errc::kInvalidJson, "", ""},
      {"null", Errc::kInvalidJson, "", ""},
      // required fields
      {R"({"max_tokens":1,"messages":[{"role":"user","content":"x"}]})",
       Errc::kMissingRequiredParameter, "model", ""},
      {R"({"model":"","max_tokens":1,"messages":[{"role":"user","content":"x"}]})",
       Errc::kInvalidValue, "model", ""},
      {R"({"model":"m","max_tokens":1})", Errc::kMissingRequiredParameter, "messages", ""},
      {R"({"model":"m","max_tokens":1,"messages":[]})", Errc::kInvalidValue, "messages", ""},
      {R"({"model":"m","max_tokens":1,"messages":{}})", Errc::kInvalidValue, "messages", ""},
      {R"({"model":"m","max_tokens":-1,"messages":[{"role":"user","content":"x"}]})",
       Errc::kInvalidValue, "max_tokens", ""},
      {R"({"model":"m","max_tokens":"9","messages":[{"role":"user","content":"x"}]})",
       Errc::kInvalidValue, "max_tokens", ""},
      {R"({"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"x"}]})",
       Errc::kInvalidValue, "max_tokens", ""},
      // messages
      {M(R"("hi")"), Errc::kInvalidValue, "messages.0", ""},
      {M(R"({"content":"x"})"), Errc::kMissingRequiredParameter, "messages.0.role", ""},
      {M(R"({"role":"tool","content":"x"})"), Errc::kInvalidValue, "messages.0.role", ""},
      {M(R"({"role":"user"})"), Errc::kMissingRequiredParameter, "messages.0.content", ""},
      {M(R"({"role":"user","content":5})"), Errc::kInvalidValue, "messages.0.content", ""},
      {M(R"({"role":"system","content":[{"type":"image","source":{}}]})"), Errc::kUnsupportedValue,
       "messages.0.content.0.type", ""},
      // content blocks
      {U(R"("x")"), Errc::kInvalidValue, "messages.0.content.0", ""},
      {U(R"({"text":"x"})"), Errc::kMissingRequiredParameter, "messages.0.content.0.type", ""},
      {U(R"({"type":"text"})"), Errc::kMissingRequiredParameter, "messages.0.content.0.text", ""},
      {U(R"({"type":"document","source":{}})"), Errc::kUnsupportedValue,
       "messages.0.content.0.type", "document"},
      {U(R"({"type":"search_result"})"), Errc::kUnsupportedValue, "messages.0.content.0.type", ""},
      {U(R"({"type":"tool_use","id":"a","name":"f","input":{}})"), Errc::kUnsupportedValue,
       "messages.0.content.0.type", ""},
      {A(R"({"type":"tool_result","tool_use_id":"a"})"), Errc::kUnsupportedValue,
       "messages.0.content.0.type", ""},
      {U(R"({"type":"image"})"), Errc::kMissingRequiredParameter, "messages.0.content.0.source",
       ""},
      {U(R"({"type":"text","text":"a"},{"type":"image","source":{"type":"base64",)"
         R"("media_type":"image/gif","data":"R0"}})"),
       Errc::kUnsupportedValue, "messages.0.content.1.source.media_type", ""},
      {U(R"({"type":"image","source":{"type":"base64","media_type":"image/webp","data":"x"}})"),
       Errc::kUnsupportedValue, "messages.0.content.0.source.media_type", ""},
      {U(R"({"type":"image","source":{"type":"file","file_id":"f"}})"), Errc::kUnsupportedValue,
       "messages.0.content.0.source.type", ""},
      {U(R"({"type":"image","source":{"type":"url"}})"), Errc::kMissingRequiredParameter,
       "messages.0.content.0.source.url", ""},
      {A(R"({"type":"tool_use","id":"a","name":"f"})"), Errc::kMissingRequiredParameter,
       "messages.0.content.0.input", ""},
      {A(R"({"type":"tool_use","id":"a","name":"f","input":"{}"})"), Errc::kInvalidValue,
       "messages.0.content.0.input", ""},
      {A(R"({"type":"tool_use","name":"f","input":{}})"), Errc::kMissingRequiredParameter,
       "messages.0.content.0.id", ""},
      {A(R"({"type":"thinking","signature":"s"})"), Errc::kMissingRequiredParameter,
       "messages.0.content.0.thinking", ""},
      {U(R"({"type":"tool_result"})"), Errc::kMissingRequiredParameter,
       "messages.0.content.0.tool_use_id", ""},
      {U(R"({"type":"tool_result","tool_use_id":"a","content":7})"), Errc::kInvalidValue,
       "messages.0.content.0.content", ""},
      {U(R"({"type":"tool_result","tool_use_id":"a","content":[{"type":"document"}]})"),
       Errc::kUnsupportedValue, "messages.0.content.0.content.0.type", ""},
      // system
      {E(R"(,"system":5)"), Errc::kInvalidValue, "system", ""},
      {E(R"(,"system":[{"type":"image"}])"), Errc::kUnsupportedValue, "system.0.type", ""},
      {E(R"(,"system":[{"type":"text"}])"), Errc::kMissingRequiredParameter, "system.0.text", ""},
      // scalars
      {E(R"(,"stream":"yes")"), Errc::kInvalidValue, "stream", ""},
      {E(R"(,"temperature":3)"), Errc::kInvalidValue, "temperature", ""},
      {E(R"(,"top_p":"x")"), Errc::kInvalidValue, "top_p", ""},
      {E(R"(,"top_k":5)"), Errc::kUnsupportedValue, "top_k", ""},
      {E(R"(,"container":"c")"), Errc::kUnsupportedValue, "container", ""},
      {E(R"(,"mcp_servers":[])"), Errc::kUnsupportedValue, "mcp_servers", ""},
      {E(R"(,"stop_sequences":"END")"), Errc::kInvalidValue, "stop_sequences", ""},
      {E(R"(,"stop_sequences":["a","b","c","d","e"])"), Errc::kInvalidValue, "stop_sequences", ""},
      {E(R"(,"stop_sequences":["a",""])"), Errc::kInvalidValue, "stop_sequences.1", ""},
      {E(R"(,"stop_sequences":[1])"), Errc::kInvalidValue, "stop_sequences.0", ""},
      {E(R"(,"metadata":"u")"), Errc::kInvalidValue, "metadata", ""},
      {E(R"(,"metadata":{"user_id":5})"), Errc::kInvalidValue, "metadata.user_id", ""},
      // thinking
      {E(R"(,"thinking":true)"), Errc::kInvalidValue, "thinking", ""},
      {E(R"(,"thinking":{})"), Errc::kMissingRequiredParameter, "thinking.type", ""},
      {E(R"(,"thinking":{"type":"on"})"), Errc::kInvalidValue, "thinking.type", ""},
      {E(R"(,"thinking":{"type":"enabled","budget_tokens":"many"})"), Errc::kInvalidValue,
       "thinking.budget_tokens", ""},
      {E(R"(,"output_config":{"effort":1})"), Errc::kInvalidValue, "output_config.effort", ""},
      // tools
      {E(R"(,"tools":{})"), Errc::kInvalidValue, "tools", ""},
      {E(R"(,"tools":[{"type":"web_search_20250305","name":"web_search"}])"), Errc::kInvalidValue,
       "tools.0.type", "Input tag 'web_search_20250305'"},
      {E(R"(,"tools":[{"input_schema":{}}])"), Errc::kMissingRequiredParameter, "tools.0.name", ""},
      {E(R"(,"tools":[{"name":"a b","input_schema":{}}])"), Errc::kInvalidValue, "tools.0.name",
       ""},
      {E(R"(,"tools":[{"name":"f"}])"), Errc::kMissingRequiredParameter, "tools.0.input_schema",
       ""},
      {E(R"(,"tools":[{"name":"f","input_schema":[]}])"), Errc::kInvalidValue,
       "tools.0.input_schema", ""},
      {E(R"(,"tools":[{"name":"f","description":1,"input_schema":{}}])"), Errc::kInvalidValue,
       "tools.0.description", ""},
      {E(R"(,"tool_choice":"auto")"), Errc::kInvalidValue, "tool_choice", ""},
      {E(R"(,"tool_choice":{"type":"any"})"), Errc::kUnsupportedValue, "tool_choice.type", ""},
      {E(R"(,"tool_choice":{"type":"tool","name":"f"})"), Errc::kUnsupportedValue,
       "tool_choice.type", ""},
      {E(R"(,"tool_choice":{"type":"maybe"})"), Errc::kInvalidValue, "tool_choice.type", ""},
      {E(R"(,"tool_choice":{"type":"auto","disable_parallel_tool_use":true})"),
       Errc::kUnsupportedValue, "tool_choice.disable_parallel_tool_use", ""},
  };
  for (const Row& row : rows) {
    INFO(row.body);
    const Result<MessagesRequest> r = parse_messages_request(row.body, MessagesRoute::kCreate);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == row.code);
    CHECK(r.error().param == row.param);
    CHECK(errc_info(r.error().code).status == 400);
    if (!row.param.empty()) CHECK(r.error().message.rfind(row.param + ": ", 0) == 0);
    if (!row.contains.empty()) CHECK(r.error().message.find(row.contains) != std::string::npos);
  }
}

}  // namespace zproxy
