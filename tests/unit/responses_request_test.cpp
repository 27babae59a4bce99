// parse_responses_request against the contract's request mapping (INTERFACE.md 8.1, 8.2): each
// row of the tables, and each 400 with its code and param.
#include "dialect/openai_responses/responses_request.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "json/json.h"

namespace zproxy {
namespace {

// A valid body with `extra` spliced in as further top-level members (`extra` starts with ',').
std::string body_with(const std::string& extra) {
  return R"({"model":"glm-4.6","input":"Hi")" + extra + "}";
}

// A body whose input items are `items` (the inside of the array), plus `extra`.
std::string body_items(const std::string& items, const std::string& extra = "") {
  return R"({"model":"glm-4.6","input":[)" + items + "]" + extra + "}";
}

ResponsesRequest parse_ok(const std::string& body) {
  Result<ResponsesRequest> r = parse_responses_request(body);
  if (!r.ok()) FAIL("unexpected error: " << r.error().message << " param=" << r.error().param);
  return std::move(r).value();
}

Error parse_err(const std::string& body) {
  Result<ResponsesRequest> r = parse_responses_request(body);
  if (r.ok()) FAIL("accepted: " << body);
  return r.error();
}

void check_400(const std::string& body, Errc code, const std::string& param) {
  INFO(body);
  const Error e = parse_err(body);
  CHECK(e.code == code);
  CHECK(errc_info(e.code).status == 400);
  CHECK(e.param == param);
}

// The echo as a JSON object, to read single members.
std::string echo_member(const ResponsesRequest& r, std::string_view key) {
  auto doc = parse_json("{" + r.echo + "}");
  REQUIRE(doc.ok());
  return json_dump(doc->member(key));
}

std::string text_of(const Message& m) {
  REQUIRE(m.parts.size() == 1);
  CHECK(m.parts[0].kind == PartKind::kText);
  return m.parts[0].text;
}

}  // namespace

// ---- required fields, 8.2 -----------------------------------------------------------------

TEST_CASE("responses request: minimal body, defaults and the exact default echo") {
  const ResponsesRequest r = parse_ok(body_with(""));
  const CanonicalRequest& c = r.canonical;
  CHECK(c.model == "glm-4.6");
  CHECK_FALSE(c.stream);
  CHECK(c.thinking == ThinkingSwitch::kEnabled);  // reasoning.effort absent: on
  CHECK(c.tool_choice == ToolChoice::kAbsent);
  CHECK(c.response_format == ResponseFormat::kAbsent);
  CHECK_FALSE(c.max_tokens);
  CHECK_FALSE(c.temperature);
  CHECK_FALSE(c.top_p);
  CHECK(c.user.empty());
  CHECK(c.tools.empty());
  CHECK(c.stop.empty());
  CHECK_FALSE(r.reasoning_summary);
  CHECK_FALSE(r.encrypted_reasoning);
  CHECK(r.declined_tools.empty());
  REQUIRE(c.messages.size() == 1);
  CHECK(c.messages[0].role == Role::kUser);
  CHECK(c.messages[0].form == ContentForm::kString);
  CHECK(text_of(c.messages[0]) == "Hi");
  CHECK(r.echo ==
        R"("instructions":null,"max_output_tokens":null,"parallel_tool_calls":true,)"
        R"("reasoning":{"effort":null,"summary":null},"temperature":null,)"
        R"("text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":null,)"
        R"("user":null,"safety_identifier":null,"prompt_cache_key":null,"metadata":{})");
}

TEST_CASE("responses request: model and input are required, input a string or non-empty array") {
  check_400(R"({"input":"Hi"})", Errc::kMissingRequiredParameter, "model");
  check_400(R"({"model":null,"input":"Hi"})", Errc::kMissingRequiredParameter, "model");
  check_400(R"({"model":4,"input":"Hi"})", Errc::kInvalidValue, "model");
  check_400(R"({"model":"glm-4.6"})", Errc::kMissingRequiredParameter, "input");
  check_400(R"({"model":"glm-4.6","input":null})", Errc::kMissingRequiredParameter, "input");
  check_400(R"({"model":"glm-4.6","input":[]})", Errc::kInvalidValue, "input");
  check_400(R"({"model":"glm-4.6","input":{"role":"user"}})", Errc::kInvalidValue, "input");
  check_400(R"({"model":"glm-4.6","input":7})", Errc::kInvalidValue, "input");
  CHECK(parse_err("[1]").code == Errc::kInvalidJson);
  CHECK(parse_err("{\"model\":").code == Errc::kInvalidJson);
}

TEST_CASE("responses request: unknown fields are ignored; store is accepted either way") {
  const ResponsesRequest r =
      parse_ok(body_with(R"(,"store":true,"client_metadata":{"a":1},"whatever":[null])"));
  CHECK(r.canonical.messages.size() == 1);
  parse_ok(body_with(R"(,"store":false)"));
  parse_ok(body_with(R"(,"previous_response_id":null,"conversation":null,"background":false)"));
}

// ---- stateless refusals, 8.1 --------------------------------------------------------------

TEST_CASE("responses request: what would need stored state is refused, naming the field") {
  check_400(body_with(R"(,"previous_response_id":"resp_1")"), Errc::kUnsupportedValue,
            "previous_response_id");
  check_400(body_with(R"(,"conversation":"conv_1")"), Errc::kUnsupportedValue, "conversation");
  check_400(body_with(R"(,"conversation":{"id":"conv_1"})"), Errc::kUnsupportedValue,
            "conversation");
  check_400(body_with(R"(,"background":true)"), Errc::kUnsupportedValue, "background");
  check_400(body_with(R"(,"prompt":{"id":"pmpt_1"})"), Errc::kUnsupportedValue, "prompt");
  check_400(body_items(R"({"role":"user","content":"a"},{"type":"item_reference","id":"msg_1"})"),
            Errc::kUnsupportedValue, "input[1].type");
  const Error e = parse_err(body_with(R"(,"previous_response_id":"resp_1")"));
  CHECK(e.message.find("whole conversation in 'input'") != std::string::npos);
}

// ---- input items, 8.2 ---------------------------------------------------------------------

TEST_CASE("responses request: instructions become the first, system message") {
  const ResponsesRequest r = parse_ok(body_with(R"(,"instructions":"Be brief.")"));
  const auto& m = r.canonical.messages;
  REQUIRE(m.size() == 2);
  CHECK(m[0].role == Role::kSystem);
  CHECK(text_of(m[0]) == "Be brief.");
  CHECK(m[1].role == Role::kUser);
  CHECK(echo_member(r, "instructions") == R"("Be brief.")");
  check_400(body_with(R"(,"instructions":["x"])"), Errc::kInvalidValue, "instructions");
}

TEST_CASE("responses request: message items keep role and position; developer is system") {
  const ResponsesRequest r = parse_ok(body_items(
      R"({"type":"message","role":"developer","content":"d"},)"
      R"({"role":"system","content":"s"},)"
      R"({"role":"user","content":[{"type":"input_text","text":"u1"},)"
      R"({"type":"input_text","text":"u2"}]},)"
      R"({"type":"message","role":"assistant","content":[{"type":"output_text","text":"a1",)"
      R"("annotations":[]},{"type":"refusal","refusal":" no"}]})"));
  const auto& m = r.canonical.messages;
  REQUIRE(m.size() == 4);
  CHECK(m[0].role == Role::kSystem);
  CHECK(text_of(m[0]) == "d");
  CHECK(m[1].role == Role::kSystem);
  CHECK(m[2].role == Role::kUser);
  CHECK(m[2].form == ContentForm::kParts);
  REQUIRE(m[2].parts.size() == 2);
  CHECK(m[2].parts[0].text == "u1");
  CHECK(m[2].parts[1].text == "u2");
  // An assistant message's parts are joined into one text.
  CHECK(m[3].role == Role::kAssistant);
  CHECK(m[3].form == ContentForm::kString);
  CHECK(text_of(m[3]) == "a1 no");
}

TEST_CASE("responses request: message item errors name their path") {
  check_400(body_items(R"({"role":"tool","content":"x"})"), Errc::kInvalidValue, "input[0].role");
  check_400(body_items(R"({"type":"message","content":"x"})"), Errc::kMissingRequiredParameter,
            "input[0].role");
  check_400(body_items(R"({"role":"user"})"), Errc::kMissingRequiredParameter, "input[0].content");
  check_400(body_items(R"({"role":"user","content":5})"), Errc::kInvalidValue, "input[0].content");
  check_400(body_items(R"({"role":"user","content":["x"]})"), Errc::kInvalidValue,
            "input[0].content[0]");
  check_400(body_items(R"({"role":"user","content":[{"text":"x"}]})"),
            Errc::kMissingRequiredParameter, "input[0].content[0].type");
  check_400(body_items(R"({"role":"user","content":[{"type":"input_text"}]})"),
            Errc::kMissingRequiredParameter, "input[0].content[0].text");
  check_400(body_items(R"({"role":"assistant","content":[{"type":"refusal"}]})"),
            Errc::kMissingRequiredParameter, "input[0].content[0].refusal");
  check_400(body_items(R"("hi")"), Errc::kInvalidValue, "input[0]");
  check_400(body_items(R"({"content":"x"})"), Errc::kMissingRequiredParameter, "input[0].type");
  check_400(body_items(R"({"type":7,"role":"user","content":"x"})"), Errc::kInvalidValue,
            "input[0].type");
}

TEST_CASE("responses request: input_image with an image_url is an image part") {
  const ResponsesRequest r = parse_ok(body_items(
      R"({"role":"user","content":[{"type":"input_text","text":"what?"},)"
      R"({"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]})"));
  const auto& parts = r.canonical.messages.at(0).parts;
  REQUIRE(parts.size() == 2);
  CHECK(parts[1].kind == PartKind::kImage);
  CHECK(parts[1].text == "data:image/png;base64,AAAA");
  CHECK(parts[1].detail == "low");
  CHECK(r.canonical.has_image_parts());
}

TEST_CASE("responses request: file ids, files and audio are refused") {
  check_400(body_items(R"({"role":"user","content":[{"type":"input_image","file_id":"file_1"}]})"),
            Errc::kUnsupportedValue, "input[0].content[0].image_url");
  check_400(body_items(R"({"role":"user","content":[{"type":"input_text","text":"a"},)"
                       R"({"type":"input_file","file_id":"file_1"}]})"),
            Errc::kUnsupportedValue, "input[0].content[1].type");
  check_400(body_items(R"({"role":"user","content":[{"type":"input_audio",)"
                       R"("input_audio":{"data":"AAAA","format":"wav"}}]})"),
            Errc::kUnsupportedValue, "input[0].content[0].type");
  // An assistant's earlier turn is text only.
  check_400(body_items(R"({"role":"assistant","content":[{"type":"input_image",)"
                       R"("image_url":"https://x/y.png"}]})"),
            Errc::kUnsupportedValue, "input[0].content");
}

TEST_CASE("responses request: function calls, their outputs and one assistant turn") {
  const ResponsesRequest r = parse_ok(body_items(
      R"({"role":"user","content":"weather?"},)"
      R"({"role":"assistant","content":"Checking."},)"
      R"({"type":"function_call","call_id":"call_1","name":"get_weather",)"
      R"("arguments":"{\"city\":\"Paris\"}","id":"fc_1","status":"completed"},)"
      R"({"type":"function_call","call_id":"call_2","name":"get_weather",)"
      R"("arguments":"{\"city\":\"Berlin\"}"},)"
      R"({"type":"function_call_output","call_id":"call_1","output":"sunny"},)"
      R"({"type":"function_call_output","call_id":"call_2","output":[)"
      R"({"type":"input_text","text":"rain, "},{"type":"input_image","image_url":"https://x"},)"
      R"({"type":"output_text","text":" cold"}]})"));
  const auto& m = r.canonical.messages;
  REQUIRE(m.size() == 4);
  // The assistant message and both calls: one assistant turn.
  CHECK(m[1].role == Role::kAssistant);
  CHECK(text_of(m[1]) == "Checking.");
  REQUIRE(m[1].tool_calls.size() == 2);
  CHECK(m[1].tool_calls[0].id == "call_1");
  CHECK(m[1].tool_calls[0].name == "get_weather");
  CHECK(m[1].tool_calls[0].arguments == R"({"city":"Paris"})");
  CHECK(m[1].tool_calls[1].id == "call_2");
  CHECK(m[2].role == Role::kTool);
  CHECK(m[2].tool_call_id == "call_1");
  CHECK(text_of(m[2]) == "sunny");
  CHECK(m[3].role == Role::kTool);
  CHECK(m[3].tool_call_id == "call_2");
  CHECK(text_of(m[3]) == "rain, [image omitted] cold");
}

TEST_CASE("responses request: a call without a message before it opens an assistant turn") {
  const ResponsesRequest r =
      parse_ok(body_items(R"({"role":"user","content":"go"},)"
                          R"({"type":"function_call","call_id":"c1","name":"a","arguments":"{}"},)"
                          R"({"type":"function_call_output","call_id":"c1","output":"1"},)"
                          R"({"type":"function_call","call_id":"c2","name":"b","arguments":"{}"},)"
                          R"({"type":"function_call_output","call_id":"c2","output":"2"})"));
  const auto& m = r.canonical.messages;
  REQUIRE(m.size() == 5);
  CHECK(m[1].role == Role::kAssistant);
  CHECK(m[1].form == ContentForm::kNone);
  CHECK(m[1].parts.empty());
  REQUIRE(m[1].tool_calls.size() == 1);
  // A tool output ends the turn: the next call is a new assistant message.
  CHECK(m[3].role == Role::kAssistant);
  REQUIRE(m[3].tool_calls.size() == 1);
  CHECK(m[3].tool_calls[0].id == "c2");
}

TEST_CASE("responses request: custom tool calls carry {\"input\":…} as arguments") {
  const ResponsesRequest r = parse_ok(body_items(
      R"({"role":"user","content":"patch"},)"
      R"({"type":"custom_tool_call","call_id":"c1","name":"apply_patch",)"
      R"("input":"*** Begin Patch\n\"x\"\n*** End Patch"},)"
      R"({"type":"custom_tool_call_output","call_id":"c1","output":"Done!"},)"
      R"({"type":"function_call","call_id":"c2","namespace":"fs","name":"read","arguments":"{}"})"));
  const auto& m = r.canonical.messages;
  REQUIRE(m.size() == 4);
  REQUIRE(m[1].tool_calls.size() == 1);
  CHECK(m[1].tool_calls[0].name == "apply_patch");
  CHECK(m[1].tool_calls[0].arguments == R"({"input":"*** Begin Patch\n\"x\"\n*** End Patch"})");
  CHECK(m[2].role == Role::kTool);
  CHECK(m[2].tool_call_id == "c1");
  CHECK(text_of(m[2]) == "Done!");
  // A namespaced call goes back under its upstream name.
  CHECK(m[3].tool_calls.at(0).name == "fs__read");
}

TEST_CASE("responses request: call and output item errors name their path") {
  const std::string user = R"({"role":"user","content":"x"},)";
  check_400(body_items(user + R"({"type":"function_call","name":"f","arguments":"{}"})"),
            Errc::kMissingRequiredParameter, "input[1].call_id");
  check_400(body_items(user + R"({"type":"function_call","call_id":"c","arguments":"{}"})"),
            Errc::kMissingRequiredParameter, "input[1].name");
  check_400(body_items(user + R"({"type":"function_call","call_id":"c","name":"f"})"),
            Errc::kMissingRequiredParameter, "input[1].arguments");
  check_400(
      body_items(user + R"({"type":"function_call","call_id":"c","name":"f","arguments":{}})"),
      Errc::kInvalidValue, "input[1].arguments");
  check_400(body_items(user + R"({"type":"custom_tool_call","call_id":"c","name":"f"})"),
            Errc::kMissingRequiredParameter, "input[1].input");
  check_400(
      body_items(user + R"({"type":"function_call","call_id":"","name":"f","arguments":"{}"})"),
      Errc::kInvalidValue, "input[1].call_id");
  check_400(
      body_items(user + R"({"type":"function_call","call_id":"c","name":"","arguments":"{}"})"),
      Errc::kInvalidValue, "input[1].name");
  check_400(body_items(user + R"({"type":"function_call_output","output":"x"})"),
            Errc::kMissingRequiredParameter, "input[1].call_id");
  check_400(body_items(user + R"({"type":"function_call_output","call_id":"","output":"x"})"),
            Errc::kInvalidValue, "input[1].call_id");
  check_400(body_items(user + R"({"type":"function_call_output","call_id":"c"})"),
            Errc::kMissingRequiredParameter, "input[1].output");
  check_400(body_items(user + R"({"type":"function_call_output","call_id":"c","output":3})"),
            Errc::kInvalidValue, "input[1].output");
  check_400(body_items(user + R"({"type":"function_call_output","call_id":"c",)"
                              R"("output":[{"type":"input_file","file_id":"f"}]})"),
            Errc::kUnsupportedValue, "input[1].output[0].type");
}

TEST_CASE("responses request: reasoning items become the next assistant turn's reasoning") {
  SECTION("the summary's texts, joined, when there is no reasoning_text") {
    const ResponsesRequest r = parse_ok(body_items(
        R"({"role":"user","content":"ls"},)"
        R"({"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"S1"},)"
        R"({"type":"summary_text","text":"S2"}],"encrypted_content":null},)"
        R"({"type":"function_call","call_id":"call_1","name":"exec","arguments":"{}"},)"
        R"({"type":"function_call_output","call_id":"call_1","output":"a.txt"})"));
    const auto& m = r.canonical.messages;
    REQUIRE(m.size() == 3);
    CHECK(m[1].role == Role::kAssistant);
    REQUIRE(m[1].reasoning);
    CHECK(*m[1].reasoning == "S1\nS2");
    CHECK(m[1].tool_calls.at(0).id == "call_1");
    CHECK(m[2].tool_call_id == "call_1");
  }
  SECTION("reasoning_text content wins over the summary") {
    const ResponsesRequest r = parse_ok(
        body_items(R"({"role":"user","content":"q"},)"
                   R"({"type":"reasoning","summary":[{"type":"summary_text","text":"short"}],)"
                   R"("content":[{"type":"reasoning_text","text":"long"}]},)"
                   R"({"role":"assistant","content":"A"})"));
    const auto& m = r.canonical.messages;
    REQUIRE(m.size() == 2);
    REQUIRE(m[1].reasoning);
    CHECK(*m[1].reasoning == "long");
    CHECK(text_of(m[1]) == "A");
  }
  SECTION("user messages carry none") {
    const ResponsesRequest r = parse_ok(
        body_items(R"({"type":"reasoning","summary":[{"type":"summary_text","text":"x"}]},)"
                   R"({"role":"user","content":"q"})"));
    CHECK_FALSE(r.canonical.messages.at(0).reasoning);
  }
  check_400(body_items(R"({"role":"user","content":"q"},{"type":"reasoning","summary":"x"})"),
            Errc::kInvalidValue, "input[1].summary");
  check_400(body_items(R"({"role":"user","content":"q"},{"type":"reasoning","content":{}})"),
            Errc::kInvalidValue, "input[1].content");
}

TEST_CASE("responses request: other input item types are refused with input[i].type") {
  for (const char* type :
       {"input_file", "file_search_call", "web_search_call", "computer_call", "local_shell_call",
        "mcp_call", "image_generation_call", "compaction", "bogus"}) {
    INFO(type);
    check_400(body_items(R"({"role":"user","content":"x"},{"type":")" + std::string(type) +
                         R"(","id":"x"})"),
              Errc::kUnsupportedValue, "input[1].type");
  }
}

TEST_CASE("responses request: input that holds no message is refused") {
  check_400(body_items(R"({"type":"reasoning","summary":[]})"), Errc::kInvalidValue, "input");
  // Instructions alone are a conversation to answer.
  const ResponsesRequest r =
      parse_ok(body_items(R"({"type":"reasoning","summary":[]})", R"(,"instructions":"I")"));
  CHECK(r.canonical.messages.size() == 1);
}

// ---- tools, 8.2 ---------------------------------------------------------------------------

TEST_CASE("responses request: function tools are flat; parameters default; strict ignored") {
  const ResponsesRequest r = parse_ok(body_with(
      R"(,"tools":[{"type":"function","name":"get_weather","description":"Weather.",)"
      R"("parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true},)"
      R"({"type":"function","name":"now"}],"tool_choice":"auto")"));
  const auto& t = r.canonical.tools;
  REQUIRE(t.size() == 2);
  CHECK(t[0].name == "get_weather");
  CHECK(t[0].description == "Weather.");
  CHECK(t[0].parameters == R"({"type":"object","properties":{"city":{"type":"string"}}})");
  CHECK_FALSE(t[0].strict);
  CHECK(t[1].name == "now");
  CHECK_FALSE(t[1].description);
  CHECK(t[1].parameters == R"({"type":"object","properties":{}})");
  REQUIRE(r.tools.size() == 2);
  CHECK(r.tools[0].kind == ResponsesTool::Kind::kFunction);
  CHECK(r.tools[0].name == "get_weather");
  CHECK(r.tools[0].upstream_name == "get_weather");
  CHECK(r.tools[0].ns.empty());
  CHECK(r.canonical.tool_choice == ToolChoice::kAuto);
  // Echoed as sent.
  CHECK(echo_member(r, "tools") ==
        R"([{"type":"function","name":"get_weather","description":"Weather.",)"
        R"("parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true},)"
        R"({"type":"function","name":"now"}])");
}

TEST_CASE("responses request: custom tools are functions of one string input") {
  const ResponsesRequest r = parse_ok(
      body_with(R"(,"tools":[{"type":"custom","name":"apply_patch","description":"Edit files.",)"
                R"("format":{"type":"grammar","syntax":"lark","definition":"start: /.+/"}},)"
                R"({"type":"custom","name":"free"}])"));
  const auto& t = r.canonical.tools;
  REQUIRE(t.size() == 2);
  CHECK(t[0].name == "apply_patch");
  CHECK(t[0].parameters ==
        R"({"type":"object","properties":{"input":{"type":"string"}},"required":["input"]})");
  CHECK(t[0].description == "Edit files.\n\nThe input must follow this lark grammar:\nstart: /.+/");
  CHECK_FALSE(t[1].description);
  CHECK(r.tools.at(0).kind == ResponsesTool::Kind::kCustom);
  CHECK(r.tools.at(1).kind == ResponsesTool::Kind::kCustom);
}

TEST_CASE("responses request: namespace children are named <namespace>__<name>") {
  const ResponsesRequest r = parse_ok(
      body_with(R"(,"tools":[{"type":"namespace","name":"fs","description":"Files.","tools":[)"
                R"({"type":"function","name":"read","parameters":{"type":"object"}},)"
                R"({"name":"stat"},{"type":"custom","name":"write"}]}])"));
  const auto& t = r.canonical.tools;
  REQUIRE(t.size() == 3);
  CHECK(t[0].name == "fs__read");
  CHECK(t[1].name == "fs__stat");
  CHECK(t[2].name == "fs__write");
  REQUIRE(r.tools.size() == 3);
  CHECK(r.tools[0].name == "read");
  CHECK(r.tools[0].ns == "fs");
  CHECK(r.tools[0].upstream_name == "fs__read");
  CHECK(r.tools[2].kind == ResponsesTool::Kind::kCustom);
  check_400(body_with(R"(,"tools":[{"type":"namespace","name":"fs","tools":[{"type":"mcp",)"
                      R"("name":"x"}]}])"),
            Errc::kUnsupportedValue, "tools[0].tools[0].type");
  check_400(body_with(R"(,"tools":[{"type":"namespace","name":"fs"}])"), Errc::kInvalidValue,
            "tools[0].tools");
  check_400(body_with(R"(,"tools":[{"type":"namespace","tools":[]}])"),
            Errc::kMissingRequiredParameter, "tools[0].name");
}

TEST_CASE("responses request: web_search tools are declined, not refused") {
  const ResponsesRequest r =
      parse_ok(body_with(R"(,"tools":[{"type":"web_search","external_web_access":false},)"
                         R"({"type":"function","name":"f"},{"type":"web_search_preview"},)"
                         R"({"type":"web_search_2025_08_26"}])"));
  CHECK(r.canonical.tools.size() == 1);
  CHECK(r.declined_tools ==
        std::vector<std::string>{"web_search", "web_search_preview", "web_search_2025_08_26"});
  // Left out of the echoed tools.
  CHECK(echo_member(r, "tools") == R"([{"type":"function","name":"f"}])");
}

TEST_CASE("responses request: tool_search is declined as Codex sends it on every turn") {
  // INTERFACE.md 8.2 lists tool_search among the refused types; the recorded Codex turns
  // (tests/fixtures/codex/catalog_apply_patch.json) send one, so the parser declines it.
  const ResponsesRequest r =
      parse_ok(body_with(R"(,"tools":[{"type":"tool_search","execution":"client"}])"));
  CHECK(r.canonical.tools.empty());
  CHECK(r.declined_tools == std::vector<std::string>{"tool_search"});
}

TEST_CASE("responses request: server-executed and unknown tools are refused with tools[i].type") {
  for (const char* type :
       {"local_shell", "shell", "apply_patch", "file_search", "computer", "computer_use_preview",
        "code_interpreter", "image_generation", "mcp", "bogus"}) {
    INFO(type);
    check_400(body_with(R"(,"tools":[{"type":"function","name":"f"},{"type":")" +
                        std::string(type) + R"("}])"),
              Errc::kUnsupportedValue, "tools[1].type");
  }
}

TEST_CASE("responses request: tool shape errors name their path") {
  check_400(body_with(R"(,"tools":{})"), Errc::kInvalidValue, "tools");
  check_400(body_with(R"(,"tools":[3])"), Errc::kInvalidValue, "tools[0]");
  check_400(body_with(R"(,"tools":[{"name":"f"}])"), Errc::kMissingRequiredParameter,
            "tools[0].type");
  check_400(body_with(R"(,"tools":[{"type":"function"}])"), Errc::kMissingRequiredParameter,
            "tools[0].name");
  check_400(body_with(R"(,"tools":[{"type":"function","name":"a b"}])"), Errc::kInvalidValue,
            "tools[0].name");
  check_400(body_with(R"(,"tools":[{"type":"function","name":"f","parameters":[]}])"),
            Errc::kInvalidValue, "tools[0].parameters");
  check_400(body_with(R"(,"tools":[{"type":"function","name":"f","description":1}])"),
            Errc::kInvalidValue, "tools[0].description");
  check_400(body_with(R"(,"tools":[{"type":"custom","name":"f","format":"lark"}])"),
            Errc::kInvalidValue, "tools[0].format");
}

// ---- other fields, 8.2 --------------------------------------------------------------------

TEST_CASE("responses request: tool_choice auto, none or absent; anything else is refused") {
  CHECK(parse_ok(body_with(R"(,"tool_choice":"none")")).canonical.tool_choice == ToolChoice::kNone);
  CHECK(parse_ok(body_with(R"(,"tool_choice":null)")).canonical.tool_choice == ToolChoice::kAbsent);
  check_400(body_with(R"(,"tool_choice":"required")"), Errc::kUnsupportedValue, "tool_choice");
  check_400(body_with(R"(,"tool_choice":{"type":"function","name":"f"})"), Errc::kUnsupportedValue,
            "tool_choice");
}

TEST_CASE("responses request: sampling fields, max_output_tokens and the end-user id") {
  const ResponsesRequest r =
      parse_ok(body_with(R"(,"max_output_tokens":256,"temperature":0.5,"top_p":0.9,)"
                         R"("stream":true,"user":"u-old","safety_identifier":"u-new")"));
  const CanonicalRequest& c = r.canonical;
  CHECK(c.max_tokens == 256);
  CHECK(c.temperature == 0.5);
  CHECK(c.top_p == 0.9);
  CHECK(c.stream);
  CHECK(c.user == "u-new");  // safety_identifier wins over user
  CHECK(parse_ok(body_with(R"(,"user":"u-old")")).canonical.user == "u-old");
  CHECK(echo_member(r, "max_output_tokens") == "256");
  CHECK(echo_member(r, "user") == R"("u-old")");
  CHECK(echo_member(r, "safety_identifier") == R"("u-new")");
  check_400(body_with(R"(,"max_output_tokens":-1)"), Errc::kInvalidValue, "max_output_tokens");
  check_400(body_with(R"(,"max_output_tokens":1.5)"), Errc::kInvalidValue, "max_output_tokens");
  check_400(body_with(R"(,"temperature":"hot")"), Errc::kInvalidValue, "temperature");
  check_400(body_with(R"(,"top_p":[])"), Errc::kInvalidValue, "top_p");
  check_400(body_with(R"(,"stream":"yes")"), Errc::kInvalidValue, "stream");
  check_400(body_with(R"(,"user":1)"), Errc::kInvalidValue, "user");
  check_400(body_with(R"(,"safety_identifier":{})"), Errc::kInvalidValue, "safety_identifier");
}

TEST_CASE("responses request: reasoning.effort switches thinking, summary picks the form") {
  struct Row {
    std::string reasoning;
    ThinkingSwitch thinking;
    bool summary;
  };
  const std::vector<Row> rows = {
      {R"({"effort":"none"})", ThinkingSwitch::kDisabled, false},
      {R"({"effort":"minimal"})", ThinkingSwitch::kDisabled, false},
      {R"({"effort":"low"})", ThinkingSwitch::kEnabled, false},
      {R"({"effort":"high","summary":"auto"})", ThinkingSwitch::kEnabled, true},
      {R"({"summary":"detailed"})", ThinkingSwitch::kEnabled, true},
      {R"({"effort":"medium","summary":null})", ThinkingSwitch::kEnabled, false},
      {R"({})", ThinkingSwitch::kEnabled, false},
      {"null", ThinkingSwitch::kEnabled, false},
  };
  for (const Row& row : rows) {
    INFO(row.reasoning);
    const ResponsesRequest r = parse_ok(body_with(R"(,"reasoning":)" + row.reasoning));
    CHECK(r.canonical.thinking == row.thinking);
    CHECK(r.reasoning_summary == row.summary);
  }
  const ResponsesRequest r =
      parse_ok(body_with(R"(,"reasoning":{"effort":"high","summary":"auto"})"));
  CHECK(r.canonical.reasoning_effort == "high");
  CHECK(echo_member(r, "reasoning") == R"({"effort":"high","summary":"auto"})");
  check_400(body_with(R"(,"reasoning":"high")"), Errc::kInvalidValue, "reasoning");
  check_400(body_with(R"(,"reasoning":{"effort":3})"), Errc::kInvalidValue, "reasoning.effort");
}

TEST_CASE("responses request: text.format maps to the response format") {
  CHECK(parse_ok(body_with(R"(,"text":{"format":{"type":"text"}})")).canonical.response_format ==
        ResponseFormat::kText);
  CHECK(parse_ok(body_with(R"(,"text":{"format":{"type":"json_object"}})"))
            .canonical.response_format == ResponseFormat::kJsonObject);
  const ResponsesRequest r = parse_ok(body_with(
      R"(,"text":{"format":{"type":"json_schema","name":"out","strict":true,)"
      R"("schema":{"type":"object","properties":{"a":{"type":"string"}}}},"verbosity":"low"})"));
  CHECK(r.canonical.response_format == ResponseFormat::kJsonSchema);
  CHECK(r.canonical.json_schema == R"({"type":"object","properties":{"a":{"type":"string"}}})");
  // Echoed whole, verbosity included.
  CHECK(echo_member(r, "text") ==
        R"({"format":{"type":"json_schema","name":"out","strict":true,)"
        R"("schema":{"type":"object","properties":{"a":{"type":"string"}}}},"verbosity":"low"})");
  // Verbosity alone changes nothing upstream.
  CHECK(parse_ok(body_with(R"(,"text":{"verbosity":"high"})")).canonical.response_format ==
        ResponseFormat::kAbsent);
  check_400(body_with(R"(,"text":"json")"), Errc::kInvalidValue, "text");
  check_400(body_with(R"(,"text":{"format":{}})"), Errc::kMissingRequiredParameter,
            "text.format.type");
  check_400(body_with(R"(,"text":{"format":{"type":"xml"}})"), Errc::kInvalidValue,
            "text.format.type");
}

TEST_CASE("responses request: include") {
  CHECK(parse_ok(body_with(R"(,"include":["reasoning.encrypted_content"])")).encrypted_reasoning);
  const ResponsesRequest r = parse_ok(
      body_with(R"(,"include":["file_search_call.results","web_search_call.action.sources"])"));
  CHECK_FALSE(r.encrypted_reasoning);
  check_400(
      body_with(R"(,"include":["reasoning.encrypted_content","message.output_text.logprobs"])"),
      Errc::kUnsupportedValue, "include[1]");
  check_400(body_with(R"(,"include":"reasoning.encrypted_content")"), Errc::kInvalidValue,
            "include");
}

TEST_CASE("responses request: top_logprobs and truncation auto are refused") {
  check_400(body_with(R"(,"top_logprobs":3)"), Errc::kUnsupportedValue, "top_logprobs");
  parse_ok(body_with(R"(,"top_logprobs":0)"));
  check_400(body_with(R"(,"truncation":"auto")"), Errc::kUnsupportedValue, "truncation");
  parse_ok(body_with(R"(,"truncation":"disabled")"));
}

TEST_CASE("responses request: echo-only fields are echoed and never reach the canonical request") {
  const ResponsesRequest r = parse_ok(
      body_with(R"(,"parallel_tool_calls":false,"metadata":{"k":"v"},"prompt_cache_key":"pck",)"
                R"("service_tier":"flex","stream_options":{"include_obfuscation":false})"));
  CHECK(r.echo ==
        R"("instructions":null,"max_output_tokens":null,"parallel_tool_calls":false,)"
        R"("reasoning":{"effort":null,"summary":null},"temperature":null,)"
        R"("text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":null,)"
        R"("user":null,"safety_identifier":null,"prompt_cache_key":"pck","metadata":{"k":"v"})");
  CHECK_FALSE(r.canonical.include_usage);
  CHECK(r.canonical.user.empty());
}

}  // namespace zproxy
