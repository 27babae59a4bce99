#include "dialect/openai_chat/chat_request.h"

#include <functional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace zproxy {
namespace {

// A valid body with `extra` spliced in as further top-level members (`extra` starts with ',').
std::string body_with(const std::string& extra) {
  return R"({"model":"glm-4.6","messages":[{"role":"user","content":"hi"}])" + extra + "}";
}

// A body whose only message is `message`.
std::string body_msg(const std::string& message) {
  return R"({"model":"glm-4.6","messages":[)" + message + "]}";
}

CanonicalRequest parse_ok(const std::string& body) {
  Result<CanonicalRequest> r = parse_chat_request(body);
  if (!r.ok()) FAIL("unexpected error: " << r.error().message << " param=" << r.error().param);
  return std::move(r).value();
}

}  // namespace

TEST_CASE("chat request: minimal body and defaults") {
  const CanonicalRequest r = parse_ok(body_with(""));
  CHECK(r.model == "glm-4.6");
  CHECK_FALSE(r.stream);
  CHECK_FALSE(r.include_usage);
  CHECK(r.stop.empty());
  CHECK_FALSE(r.temperature.has_value());
  CHECK_FALSE(r.top_p.has_value());
  CHECK_FALSE(r.max_tokens.has_value());
  CHECK(r.reasoning_effort.empty());
  CHECK(r.thinking == ThinkingSwitch::kDefault);
  CHECK(r.user.empty());
  CHECK_FALSE(r.has_tools());
  CHECK(r.tool_choice == ToolChoice::kAbsent);
  CHECK_FALSE(r.has_image_parts());
  CHECK(r.n == 1);
  CHECK_FALSE(r.logprobs);
  CHECK(r.response_format == ResponseFormat::kAbsent);
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].role == Role::kUser);
  CHECK(r.messages[0].form == ContentForm::kString);
  REQUIRE(r.messages[0].parts.size() == 1);
  CHECK(r.messages[0].parts[0].text == "hi");
}

TEST_CASE("chat request: every field read") {
  const CanonicalRequest r = parse_ok(body_with(
      R"(,"stream":true,"stream_options":{"include_usage":true},"temperature":0.7,"top_p":1,)"
      R"("max_tokens":100,"max_completion_tokens":50,"stop":["a","bb"],"user":"u-1","n":1,)"
      R"("logprobs":false,"reasoning_effort":"high","response_format":{"type":"json_object"},)"
      R"("tools":[{"type":"function","function":{"name":"get_weather","description":"d",)"
      R"("parameters":{"type":"object"},"strict":true}}],"tool_choice":"required",)"
      R"("unknown_field":{"x":[1,2]},"seed":4,"frequency_penalty":0.5)"));
  CHECK(r.stream);
  CHECK(r.include_usage);
  CHECK(r.temperature == 0.7);
  CHECK(r.top_p == 1.0);
  CHECK(r.max_tokens == 50);
  CHECK(r.stop == std::vector<std::string>{"a", "bb"});
  CHECK(r.user == "u-1");
  CHECK(r.reasoning_effort == "high");
  CHECK(r.thinking == ThinkingSwitch::kEnabled);
  CHECK(r.response_format == ResponseFormat::kJsonObject);
  REQUIRE(r.tools.size() == 1);
  CHECK(r.tools[0].name == "get_weather");
  CHECK(r.tools[0].description == "d");
  CHECK(r.tools[0].parameters == R"({"type":"object"})");
  CHECK(r.tools[0].strict == true);
  CHECK(r.tool_choice == ToolChoice::kRequired);
}

TEST_CASE("chat request: scalar fields, good values") {
  struct Row {
    std::string extra;
    std::function<bool(const CanonicalRequest&)> check;
  };
  const std::vector<Row> rows = {
      {R"(,"max_tokens":7)", [](const CanonicalRequest& r) { return r.max_tokens == 7; }},
      {R"(,"max_completion_tokens":9)",
       [](const CanonicalRequest& r) { return r.max_tokens == 9; }},
      {R"(,"max_tokens":null)", [](const CanonicalRequest& r) { return !r.max_tokens; }},
      {R"(,"temperature":0)", [](const CanonicalRequest& r) { return r.temperature == 0.0; }},
      {R"(,"temperature":2)", [](const CanonicalRequest& r) { return r.temperature == 2.0; }},
      {R"(,"top_p":0.0)", [](const CanonicalRequest& r) { return r.top_p == 0.0; }},
      {R"(,"stop":"END")",
       [](const CanonicalRequest& r) { return r.stop == std::vector<std::string>{"END"}; }},
      {R"(,"stop":null)", [](const CanonicalRequest& r) { return r.stop.empty(); }},
      {R"(,"stop":["1","2","3","4"])",
       [](const CanonicalRequest& r) { return r.stop.size() == 4; }},
      {R"(,"stream":false,"stream_options":null)",
       [](const CanonicalRequest& r) { return !r.stream; }},
      {R"(,"stream_options":{})", [](const CanonicalRequest& r) { return !r.include_usage; }},
      {R"(,"n":3)", [](const CanonicalRequest& r) { return r.n == 3; }},
      {R"(,"logprobs":true)", [](const CanonicalRequest& r) { return r.logprobs; }},
      {R"(,"tools":[])", [](const CanonicalRequest& r) { return !r.has_tools(); }},
      {R"(,"tool_choice":"none")",
       [](const CanonicalRequest& r) { return r.tool_choice == ToolChoice::kNone; }},
      {R"(,"tool_choice":{"type":"function","function":{"name":"f"}})",
       [](const CanonicalRequest& r) { return r.tool_choice == ToolChoice::kFunction; }},
      {R"(,"response_format":{"type":"text"})",
       [](const CanonicalRequest& r) { return r.response_format == ResponseFormat::kText; }},
      {R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x"}})",
       [](const CanonicalRequest& r) { return r.response_format == ResponseFormat::kJsonSchema; }},
      {R"(,"user":null,"n":null,"temperature":null,"tools":null,"thinking":null)",
       [](const CanonicalRequest& r) { return r.user.empty() && r.n == 1 && !r.temperature; }},
  };
  for (const Row& row : rows) {
    INFO(row.extra);
    CHECK(row.check(parse_ok(body_with(row.extra))));
  }
}

TEST_CASE("chat request: thinking switch") {
  struct Row {
    std::string extra;
    ThinkingSwitch want;
    bool is_explicit;
  };
  const std::vector<Row> rows = {
      {"", ThinkingSwitch::kDefault, false},
      {R"(,"reasoning_effort":"none")", ThinkingSwitch::kDisabled, false},
      {R"(,"reasoning_effort":"minimal")", ThinkingSwitch::kDisabled, false},
      {R"(,"reasoning_effort":"low")", ThinkingSwitch::kEnabled, false},
      {R"(,"reasoning_effort":"medium")", ThinkingSwitch::kEnabled, false},
      {R"(,"reasoning_effort":"high")", ThinkingSwitch::kEnabled, false},
      {R"(,"reasoning_effort":null)", ThinkingSwitch::kDefault, false},
      {R"(,"thinking":{"type":"enabled"})", ThinkingSwitch::kEnabled, true},
      {R"(,"thinking":{"type":"disabled"})", ThinkingSwitch::kDisabled, true},
      {R"(,"reasoning_effort":"none","thinking":{"type":"enabled"})", ThinkingSwitch::kEnabled,
       true},
      {R"(,"thinking":{"type":"disabled"},"reasoning_effort":"high")", ThinkingSwitch::kDisabled,
       true},
  };
  for (const Row& row : rows) {
    INFO(row.extra);
    const CanonicalRequest r = parse_ok(body_with(row.extra));
    CHECK(r.thinking == row.want);
  }
}

TEST_CASE("chat request: message shapes accepted") {
  const std::vector<std::string> messages = {
      R"({"role":"system","content":"be brief"})",
      R"({"role":"developer","content":[{"type":"text","text":"x"}],"name":"dev"})",
      R"({"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]})",
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",)"
      R"("function":{"name":"f","arguments":"{}"}}]})",
      R"({"role":"assistant"})",
      R"({"role":"assistant","content":"ok","tool_calls":null,"reasoning_content":"r"})",
      R"({"role":"assistant","content":[{"type":"text","text":"a"},{"type":"refusal","refusal":"no"}]})",
      R"({"role":"tool","tool_call_id":"c1","content":"42"})",
      R"({"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"42"}]})",
  };
  for (const std::string& m : messages) {
    INFO(m);
    const CanonicalRequest r = parse_ok(body_msg(m));
    CHECK_FALSE(r.has_image_parts());
  }
  const CanonicalRequest img = parse_ok(body_msg(
      R"({"role":"user","content":[{"type":"text","text":"what?"},)"
      R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]})"));
  CHECK(img.has_image_parts());
  REQUIRE(img.messages[0].parts.size() == 2);
  CHECK(img.messages[0].parts[1].kind == PartKind::kImage);
  CHECK(img.messages[0].parts[1].text == "data:image/png;base64,AAAA");
  CHECK(img.messages[0].parts[1].detail == "low");
}

TEST_CASE("chat request: bad bodies") {
  struct Row {
    std::string body;
    Errc code;
    std::string param;
  };
  const auto E = [](const std::string& extra) { return body_with(extra); };
  const auto M = [](const std::string& message) { return body_msg(message); };
  const std::vector<Row> rows = {
      // JSON and body shape
      {"", Errc::kInvalidJson, ""},
      {"{", Errc::kInvalidJson, ""},
      {"[]", Errc::kInvalidJson, ""},
      {"\"text\"", Errc::kInvalidJson, ""},
      {"42", Errc::kInvalidJson, ""},
      {"null", Errc::kInvalidJson, ""},
      {body_with("") + "x", Errc::kInvalidJson, ""},
      // model
      {R"({"messages":[{"role":"user","content":"hi"}]})", Errc::kMissingRequiredParameter,
       "model"},
      {R"({"model":null,"messages":[{"role":"user","content":"hi"}]})",
       Errc::kMissingRequiredParameter, "model"},
      {R"({"model":"","messages":[{"role":"user","content":"hi"}]})", Errc::kInvalidValue, "model"},
      {R"({"model":5,"messages":[{"role":"user","content":"hi"}]})", Errc::kInvalidValue, "model"},
      // messages
      {R"({"model":"m"})", Errc::kMissingRequiredParameter, "messages"},
      {R"({"model":"m","messages":[]})", Errc::kInvalidValue, "messages"},
      {R"({"model":"m","messages":{}})", Errc::kInvalidValue, "messages"},
      {R"({"model":"m","messages":"hi"})", Errc::kInvalidValue, "messages"},
      {M(R"("hi")"), Errc::kInvalidValue, "messages[0]"},
      {M(R"({"content":"hi"})"), Errc::kMissingRequiredParameter, "messages[0].role"},
      {M(R"({"role":"bot","content":"hi"})"), Errc::kInvalidValue, "messages[0].role"},
      {M(R"({"role":7,"content":"hi"})"), Errc::kInvalidValue, "messages[0].role"},
      {M(R"({"role":"function","name":"f","content":"x"})"), Errc::kUnsupportedValue,
       "messages[0].role"},
      {M(R"({"role":"user"})"), Errc::kMissingRequiredParameter, "messages[0].content"},
      {M(R"({"role":"user","content":null})"), Errc::kMissingRequiredParameter,
       "messages[0].content"},
      {M(R"({"role":"system","content":5})"), Errc::kInvalidValue, "messages[0].content"},
      {M(R"({"role":"user","content":[]})"), Errc::kInvalidValue, "messages[0].content"},
      {M(R"({"role":"user","content":"a","name":3})"), Errc::kInvalidValue, "messages[0].name"},
      {M(R"({"role":"user","content":"a"},{"role":"user","content":{"text":"x"}})"),
       Errc::kInvalidValue, "messages[1].content"},
      // content parts
      {M(R"({"role":"user","content":["x"]})"), Errc::kInvalidValue, "messages[0].content[0]"},
      {M(R"({"role":"user","content":[{"text":"x"}]})"), Errc::kMissingRequiredParameter,
       "messages[0].content[0].type"},
      {M(R"({"role":"user","content":[{"type":"text"}]})"), Errc::kMissingRequiredParameter,
       "messages[0].content[0].text"},
      {M(R"({"role":"user","content":[{"type":"text","text":1}]})"), Errc::kInvalidValue,
       "messages[0].content[0].text"},
      {M(R"({"role":"user","content":[{"type":"video","url":"x"}]})"), Errc::kInvalidValue,
       "messages[0].content[0].type"},
      {M(R"({"role":"user","content":[{"type":"image_url"}]})"), Errc::kMissingRequiredParameter,
       "messages[0].content[0].image_url"},
      {M(R"({"role":"user","content":[{"type":"image_url","image_url":"http://x"}]})"),
       Errc::kInvalidValue, "messages[0].content[0].image_url"},
      {M(R"({"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{}}]})"),
       Errc::kMissingRequiredParameter, "messages[0].content[1].image_url.url"},
      {M(R"({"role":"system","content":[{"type":"image_url","image_url":{"url":"u"}}]})"),
       Errc::kInvalidValue, "messages[0].content[0].type"},
      {M(R"({"role":"user","content":[{"type":"input_audio","input_audio":{"data":"","format":"wav"}}]})"),
       Errc::kUnsupportedValue, "messages[0].content[0].type"},
      {M(R"({"role":"user","content":[{"type":"file","file":{"file_id":"f"}}]})"),
       Errc::kUnsupportedValue, "messages[0].content[0].type"},
      {M(R"({"role":"user","content":[{"type":"refusal","refusal":"no"}]})"), Errc::kInvalidValue,
       "messages[0].content[0].type"},
      // tool and assistant messages
      {M(R"({"role":"tool","content":"42"})"), Errc::kMissingRequiredParameter,
       "messages[0].tool_call_id"},
      {M(R"({"role":"tool","content":"42","tool_call_id":1})"), Errc::kInvalidValue,
       "messages[0].tool_call_id"},
      {M(R"({"role":"assistant","tool_calls":{}})"), Errc::kInvalidValue, "messages[0].tool_calls"},
      {M(R"({"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]})"),
       Errc::kMissingRequiredParameter, "messages[0].tool_calls[0].id"},
      {M(R"({"role":"assistant","tool_calls":[{"id":"c","type":"tool","function":{"name":"f","arguments":"{}"}}]})"),
       Errc::kInvalidValue, "messages[0].tool_calls[0].type"},
      {M(R"({"role":"assistant","tool_calls":[{"id":"c","type":"function"}]})"),
       Errc::kMissingRequiredParameter, "messages[0].tool_calls[0].function"},
      {M(R"({"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":{}}}]})"),
       Errc::kInvalidValue, "messages[0].tool_calls[0].function.arguments"},
      {M(R"({"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"arguments":"{}"}}]})"),
       Errc::kMissingRequiredParameter, "messages[0].tool_calls[0].function.name"},
      // scalars
      {E(R"(,"stream":"true")"), Errc::kInvalidValue, "stream"},
      {E(R"(,"stream_options":true)"), Errc::kInvalidValue, "stream_options"},
      {E(R"(,"stream_options":{"include_usage":1})"), Errc::kInvalidValue,
       "stream_options.include_usage"},
      {E(R"(,"temperature":2.01)"), Errc::kInvalidValue, "temperature"},
      {E(R"(,"temperature":-0.1)"), Errc::kInvalidValue, "temperature"},
      {E(R"(,"temperature":"1")"), Errc::kInvalidValue, "temperature"},
      {E(R"(,"top_p":1.5)"), Errc::kInvalidValue, "top_p"},
      {E(R"(,"max_tokens":0)"), Errc::kInvalidValue, "max_tokens"},
      {E(R"(,"max_tokens":1.5)"), Errc::kInvalidValue, "max_tokens"},
      {E(R"(,"max_tokens":"10")"), Errc::kInvalidValue, "max_tokens"},
      {E(R"(,"max_tokens":18446744073709551615)"), Errc::kInvalidValue, "max_tokens"},
      {E(R"(,"max_completion_tokens":-3)"), Errc::kInvalidValue, "max_completion_tokens"},
      {E(R"(,"n":0)"), Errc::kInvalidValue, "n"},
      {E(R"(,"n":129)"), Errc::kInvalidValue, "n"},
      {E(R"(,"logprobs":"yes")"), Errc::kInvalidValue, "logprobs"},
      {E(R"(,"user":42)"), Errc::kInvalidValue, "user"},
      // stop
      {E(R"(,"stop":"")"), Errc::kInvalidValue, "stop"},
      {E(R"(,"stop":[])"), Errc::kInvalidValue, "stop"},
      {E(R"(,"stop":["a","b","c","d","e"])"), Errc::kInvalidValue, "stop"},
      {E(R"(,"stop":5)"), Errc::kInvalidValue, "stop"},
      {E(R"(,"stop":["a",1])"), Errc::kInvalidValue, "stop[1]"},
      {E(R"(,"stop":["a",""])"), Errc::kInvalidValue, "stop[1]"},
      // tools
      {E(R"(,"tools":{})"), Errc::kInvalidValue, "tools"},
      {E(R"(,"tools":[5])"), Errc::kInvalidValue, "tools[0]"},
      {E(R"(,"tools":[{"function":{"name":"f"}}])"), Errc::kMissingRequiredParameter,
       "tools[0].type"},
      {E(R"(,"tools":[{"type":"retrieval"}])"), Errc::kInvalidValue, "tools[0].type"},
      {E(R"(,"tools":[{"type":"custom","custom":{"name":"c"}}])"), Errc::kUnsupportedValue,
       "tools[0].type"},
      {E(R"(,"tools":[{"type":"function"}])"), Errc::kMissingRequiredParameter,
       "tools[0].function"},
      {E(R"(,"tools":[{"type":"function","function":{}}])"), Errc::kMissingRequiredParameter,
       "tools[0].function.name"},
      {E(R"(,"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"bad name"}}])"),
       Errc::kInvalidValue, "tools[1].function.name"},
      {E(R"(,"tools":[{"type":"function","function":{"name":")" + std::string(65, 'a') + R"("}}])"),
       Errc::kInvalidValue, "tools[0].function.name"},
      {E(R"(,"tools":[{"type":"function","function":{"name":"f","description":1}}])"),
       Errc::kInvalidValue, "tools[0].function.description"},
      {E(R"(,"tools":[{"type":"function","function":{"name":"f","parameters":"{}"}}])"),
       Errc::kInvalidValue, "tools[0].function.parameters"},
      // tool_choice
      {E(R"(,"tool_choice":"any")"), Errc::kInvalidValue, "tool_choice"},
      {E(R"(,"tool_choice":1)"), Errc::kInvalidValue, "tool_choice"},
      {E(R"(,"tool_choice":{"type":"function"})"), Errc::kMissingRequiredParameter,
       "tool_choice.function"},
      {E(R"(,"tool_choice":{"type":"function","function":{}})"), Errc::kMissingRequiredParameter,
       "tool_choice.function.name"},
      {E(R"(,"tool_choice":{"type":"allowed_tools"})"), Errc::kUnsupportedValue,
       "tool_choice.type"},
      {E(R"(,"tool_choice":{"type":"x"})"), Errc::kInvalidValue, "tool_choice.type"},
      // reasoning
      {E(R"(,"reasoning_effort":"extreme")"), Errc::kInvalidValue, "reasoning_effort"},
      {E(R"(,"reasoning_effort":1)"), Errc::kInvalidValue, "reasoning_effort"},
      {E(R"(,"thinking":"enabled")"), Errc::kInvalidValue, "thinking"},
      {E(R"(,"thinking":{})"), Errc::kMissingRequiredParameter, "thinking.type"},
      {E(R"(,"thinking":{"type":"auto"})"), Errc::kInvalidValue, "thinking.type"},
      // response_format
      {E(R"(,"response_format":"json")"), Errc::kInvalidValue, "response_format"},
      {E(R"(,"response_format":{})"), Errc::kMissingRequiredParameter, "response_format.type"},
      {E(R"(,"response_format":{"type":"yaml"})"), Errc::kInvalidValue, "response_format.type"},
      {E(R"(,"response_format":{"type":"json_schema"})"), Errc::kMissingRequiredParameter,
       "response_format.json_schema"},
  };
  for (const Row& row : rows) {
    INFO(row.body);
    Result<CanonicalRequest> r = parse_chat_request(row.body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == row.code);
    CHECK(r.error().param == row.param);
    CHECK_FALSE(r.error().message.empty());
    if (!row.param.empty()) {
      CHECK(r.error().message.find("'" + row.param + "'") != std::string::npos);
    }
  }
}

TEST_CASE("chat request: error messages in OpenAI's words") {
  Result<CanonicalRequest> r =
      parse_chat_request(R"({"messages":[{"role":"user","content":"x"}]})");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "Missing required parameter: 'model'.");
  r = parse_chat_request(body_msg(R"({"role":"user","content":7})"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "Invalid type for 'messages[0].content': expected one of a string or array of objects, "
        "but got an integer instead.");
}

TEST_CASE("chat request: deep nesting is refused as invalid JSON") {
  for (const std::string& where : {std::string("messages"), std::string("unknown")}) {
    INFO(where);
    const std::string deep = std::string(200, '[') + std::string(200, ']');
    const std::string body = where == "messages"
                                 ? body_msg(R"({"role":"user","content":)" + deep + "}")
                                 : body_with(",\"unknown\":" + deep);
    Result<CanonicalRequest> r = parse_chat_request(body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::kInvalidJson);
  }
  // Moderate nesting in unknown fields and tool schemas is fine.
  const std::string nested = std::string(20, '[') + std::string(20, ']');
  CHECK(parse_chat_request(body_with(",\"unknown\":" + nested)).ok());
}

TEST_CASE("chat request: unicode content preserved") {
  const CanonicalRequest r = parse_ok(body_msg(
      "{\"role\":\"user\",\"content\":\"h\xC3\xA9llo \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80 "
      "\\u00e9\\ud83d\\ude00\\n\"}"));
  REQUIRE(r.messages[0].form == ContentForm::kString);
  CHECK(r.messages[0].parts[0].text ==
        "h\xC3\xA9llo \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80 \xC3\xA9\xF0\x9F\x98\x80\n");
  const CanonicalRequest m = parse_ok(
      R"({"model":"glm-4.6\u00e9","messages":[{"role":"user","content":"x"}],"stop":["\u3002"]})");
  CHECK(m.model == "glm-4.6\xC3\xA9");
  CHECK(m.stop == std::vector<std::string>{"\xE3\x80\x82"});
}

TEST_CASE("chat request: the canonical request outlives the input buffer") {
  std::string body = body_with(R"(,"tools":[{"type":"function","function":{"name":"f"}}])");
  Result<CanonicalRequest> r = parse_chat_request(body);
  REQUIRE(r.ok());
  CanonicalRequest moved = std::move(r).value();
  body.assign(body.size(), 'x');
  CHECK(moved.tools[0].name == "f");
  CHECK(moved.messages[0].parts[0].text == "hi");
}

TEST_CASE("chat request: history becomes typed messages") {
  const CanonicalRequest r = parse_ok(
      R"({"model":"m","messages":[{"role":"developer","content":"S","name":"n"},)"
      R"({"role":"assistant","content":null,"reasoning_content":"R","tool_calls":[{"id":"c1",)"
      R"("type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},)"
      R"({"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"42"}]}]})");
  REQUIRE(r.messages.size() == 3);
  CHECK(r.messages[0].role == Role::kDeveloper);
  CHECK(r.messages[0].name == "n");
  const Message& a = r.messages[1];
  CHECK(a.form == ContentForm::kNone);
  CHECK(a.reasoning == "R");
  REQUIRE(a.tool_calls.size() == 1);
  CHECK(a.tool_calls[0].id == "c1");
  CHECK(a.tool_calls[0].name == "f");
  CHECK(a.tool_calls[0].arguments == R"({"a":1})");
  CHECK(r.messages[2].role == Role::kTool);
  CHECK(r.messages[2].tool_call_id == "c1");
  CHECK(r.messages[2].form == ContentForm::kParts);
}

}  // namespace zproxy
