// The chat dialect's emitter behind the engine's shared answer rules, paired as the engine
// pairs them: stop strings, thinking modes and finish reasons are tested through their bytes.
#include "dialect/openai_chat/emitter.h"
#include "engine/answer_rules.h"

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "json/json.h"

using zproxy::AnswerRules;
using zproxy::ChatEmitter;
using zproxy::ChatEmitterOptions;
using zproxy::FinishReason;
using zproxy::JsonDocument;
using zproxy::JsonValue;
using zproxy::ThinkingMode;
using zproxy::ToolCallDelta;
using zproxy::Usage;

namespace {

struct EmitterOptions {
  ChatEmitterOptions chat;
  ThinkingMode thinking = ThinkingMode::kReasoningContent;
  std::vector<std::string> stop;
};

// ChatEmitter fed through AnswerRules, with the old one-object interface.
class Emitter : public zproxy::DeltaSink {
 public:
  explicit Emitter(const EmitterOptions& o)
      : chat_(std::make_unique<ChatEmitter>(o.chat)), rules_(*chat_, o.thinking, o.stop) {}
  void on_reasoning(std::string_view t) override { rules_.on_reasoning(t); }
  void on_content(std::string_view t) override { rules_.on_content(t); }
  void on_tool_call(const ToolCallDelta& c) override { rules_.on_tool_call(c); }
  void on_usage(const Usage& u) override { rules_.on_usage(u); }
  void on_finish_reason(FinishReason r) override { rules_.on_finish_reason(r); }
  void on_end() override { rules_.on_end(); }
  void on_failure(const zproxy::UpstreamFailure& f) override { rules_.on_failure(f); }
  void write_error_event(const zproxy::Error& e) { rules_.write_error_event(e); }
  bool committed() const { return chat_->committed(); }
  bool complete() const { return rules_.complete(); }
  bool failed() const { return rules_.failed(); }
  const zproxy::UpstreamFailure& failure() const { return rules_.failure(); }
  std::string take_output() { return chat_->take_output(); }

 private:
  std::unique_ptr<ChatEmitter> chat_;
  AnswerRules rules_;
};

bool has_string(JsonValue v, std::string_view want) {
  return v.is_string() && v.string() == want;
}

// ---- expected bytes ------------------------------------------------------------------------

const std::string kChunkHead =
    R"({"id":"chatcmpl-t1","object":"chat.completion.chunk","created":1700000000,)"
    R"("model":"glm-4.6","choices":[)";
const std::string kBodyHead =
    R"({"id":"chatcmpl-t1","object":"chat.completion","created":1700000000,)"
    R"("model":"glm-4.6","choices":[)";
const std::string kDone = "data: [DONE]\n\n";
const std::string kZeroUsage = R"({"prompt_tokens":0,"completion_tokens":0,"total_tokens":0})";

std::string delta(const std::string& fields, bool first = false) {
  return "data: " + kChunkHead + R"({"index":0,"delta":{)" +
         (first ? R"("role":"assistant",)" : "") + fields +
         R"(},"logprobs":null,"finish_reason":null}]})" + "\n\n";
}
// `escaped` is already JSON-escaped text.
std::string content(const std::string& escaped, bool first = false) {
  return delta(R"("content":")" + escaped + "\"", first);
}
std::string reasoning(const std::string& escaped, bool first = false) {
  return delta(R"("reasoning_content":")" + escaped + "\"", first);
}
std::string final_chunk(const std::string& reason) {
  return "data: " + kChunkHead + R"({"index":0,"delta":{},"logprobs":null,"finish_reason":")" +
         reason + R"("}]})" + "\n\n";
}
std::string usage_chunk(const std::string& usage_json) {
  return "data: " + kChunkHead + R"(],"usage":)" + usage_json + "}\n\n";
}
std::string body(const std::string& message_json, const std::string& reason,
                 const std::string& usage_json = kZeroUsage) {
  return kBodyHead + R"({"index":0,"message":)" + message_json +
         R"(,"logprobs":null,"finish_reason":")" + reason + R"("}],"usage":)" + usage_json + "}";
}

// ---- scripted deltas -----------------------------------------------------------------------

using Step = std::function<void(Emitter&)>;

Step think(std::string t) {
  return [t](Emitter& e) { e.on_reasoning(t); };
}
Step say(std::string t) {
  return [t](Emitter& e) { e.on_content(t); };
}
Step tool(int index, std::string id, std::string type, std::string name, std::string args) {
  return [=](Emitter& e) { e.on_tool_call(ToolCallDelta{index, id, type, name, args}); };
}
Step usage(int64_t p, int64_t c, int64_t t, int64_t cached = -1, int64_t reasoning = -1) {
  return [=](Emitter& e) { e.on_usage(Usage{p, c, t, cached, reasoning}); };
}
Step upstream_finish(FinishReason r) {
  return [r](Emitter& e) { e.on_finish_reason(r); };
}
Step end() {
  return [](Emitter& e) { e.on_end(); };
}

EmitterOptions options(bool stream, bool include_usage, ThinkingMode mode,
                       std::vector<std::string> stop) {
  EmitterOptions o;
  o.chat.id = "chatcmpl-t1";
  o.chat.created = 1700000000;
  o.chat.model = "glm-4.6";
  o.chat.stream = stream;
  o.chat.include_usage = include_usage;
  o.thinking = mode;
  o.stop = std::move(stop);
  return o;
}
EmitterOptions streamed(ThinkingMode mode, std::vector<std::string> stop = {}) {
  return options(true, false, mode, std::move(stop));
}
EmitterOptions streamed_with_usage(ThinkingMode mode, std::vector<std::string> stop = {}) {
  return options(true, true, mode, std::move(stop));
}
EmitterOptions whole(ThinkingMode mode, std::vector<std::string> stop = {}) {
  return options(false, false, mode, std::move(stop));
}

struct Case {
  const char* name;
  EmitterOptions options;
  std::vector<Step> steps;
  std::string expected;
  bool stopped = false;  // a stop string ended the answer: later deltas change nothing
};

constexpr auto kRc = ThinkingMode::kReasoningContent;
constexpr auto kTags = ThinkingMode::kThinkTags;
constexpr auto kHidden = ThinkingMode::kHidden;

// ---- OpenAPI required keys -----------------------------------------------------------------

JsonDocument parse_strict(std::string_view json) {
  auto d = zproxy::parse_json(json);
  INFO(json);
  REQUIRE(d.ok());
  REQUIRE(d->is_object());
  return std::move(d).value();
}

bool is_finish_reason(JsonValue v) {
  const std::string_view s = v.string();
  return s == "stop" || s == "length" || s == "tool_calls" || s == "content_filter";
}

bool is_int(JsonValue v) {
  return v.int64().has_value();
}

void check_usage(JsonValue u) {
  REQUIRE(u.is_object());
  for (const char* k : {"prompt_tokens", "completion_tokens", "total_tokens"}) {
    CHECK(u.member(k));
    if (u.member(k)) CHECK(is_int(u.member(k)));
  }
}

void check_common(JsonValue d, const char* object) {
  for (const char* k : {"id", "object", "created", "model", "choices"}) REQUIRE(d.member(k));
  CHECK(d.member("id").is_string());
  CHECK(has_string(d.member("object"), object));
  CHECK(is_int(d.member("created")));
  CHECK(d.member("model").is_string());
  REQUIRE(d.member("choices").is_array());
}

// CreateChatCompletionStreamResponse (and the chunk delta / tool call chunk schemas).
void check_chunk(JsonValue d) {
  check_common(d, "chat.completion.chunk");
  const JsonValue choices = d.member("choices");
  if (choices.size() == 0) {
    REQUIRE(d.member("usage"));
    check_usage(d.member("usage"));
    return;
  }
  CHECK_FALSE(d.member("usage"));
  const JsonValue c = choices.element(0);
  for (const char* k : {"index", "delta", "finish_reason", "logprobs"}) REQUIRE(c.member(k));
  CHECK(c.member("index").int64() == 0);
  CHECK(c.member("logprobs").is_null());
  CHECK((c.member("finish_reason").is_null() || is_finish_reason(c.member("finish_reason"))));
  const JsonValue delta = c.member("delta");
  REQUIRE(delta.is_object());
  if (delta.member("role")) CHECK(has_string(delta.member("role"), "assistant"));
  if (delta.member("content")) CHECK(delta.member("content").is_string());
  if (delta.member("reasoning_content")) CHECK(delta.member("reasoning_content").is_string());
  if (!delta.member("tool_calls")) return;
  REQUIRE(delta.member("tool_calls").is_array());
  for (const JsonValue tc : delta.member("tool_calls").elements()) {
    REQUIRE(tc.member("index"));
    CHECK(is_int(tc.member("index")));
    if (tc.member("type")) CHECK(has_string(tc.member("type"), "function"));
    if (tc.member("id")) CHECK(tc.member("id").is_string());
    const JsonValue fn = tc.member("function");
    REQUIRE(fn.is_object());
    if (fn.member("name")) CHECK(fn.member("name").is_string());
    CHECK(fn.member("arguments").is_string());
  }
}

// Every event is "data: <json>\n\n"; the stream ends with exactly one "data: [DONE]\n\n".
void check_stream(const std::string& out) {
  REQUIRE(out.size() >= kDone.size());
  REQUIRE(out.compare(out.size() - kDone.size(), kDone.size(), kDone) == 0);
  const std::string_view events(out.data(), out.size() - kDone.size());
  size_t pos = 0;
  while (pos < events.size()) {
    const size_t stop = events.find("\n\n", pos);
    REQUIRE(stop != std::string_view::npos);
    const std::string_view ev = events.substr(pos, stop - pos);
    REQUIRE(ev.substr(0, 6) == "data: ");
    const JsonDocument d = parse_strict(ev.substr(6));
    if (d.member("error")) {
      for (const char* k : {"message", "type", "param", "code"}) CHECK(d.member("error").member(k));
    } else {
      check_chunk(d);
    }
    pos = stop + 2;
  }
}

// CreateChatCompletionResponse with ChatCompletionResponseMessage and tool calls.
void check_body(const std::string& out) {
  const JsonDocument d = parse_strict(out);
  check_common(d, "chat.completion");
  REQUIRE(d.member("choices").size() == 1);
  const JsonValue c = d.member("choices").element(0);
  for (const char* k : {"index", "message", "logprobs", "finish_reason"}) REQUIRE(c.member(k));
  CHECK(c.member("logprobs").is_null());
  CHECK(is_finish_reason(c.member("finish_reason")));
  const JsonValue m = c.member("message");
  for (const char* k : {"role", "content", "refusal"}) REQUIRE(m.member(k));
  CHECK(has_string(m.member("role"), "assistant"));
  CHECK((m.member("content").is_string() || m.member("content").is_null()));
  CHECK(m.member("refusal").is_null());
  if (m.member("tool_calls")) {
    REQUIRE(m.member("tool_calls").is_array());
    for (const JsonValue tc : m.member("tool_calls").elements()) {
      CHECK(tc.member("id").is_string());
      CHECK(has_string(tc.member("type"), "function"));
      REQUIRE(tc.member("function").is_object());
      CHECK(tc.member("function").member("name").is_string());
      CHECK(tc.member("function").member("arguments").is_string());
    }
  } else {
    CHECK(m.member("content").is_string());  // null only when there are tool calls
  }
  REQUIRE(d.member("usage"));
  check_usage(d.member("usage"));
}

size_t count(std::string_view hay, std::string_view needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string_view::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

void run_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    INFO(c.name);
    Emitter e(c.options);
    std::string out;
    for (const Step& step : c.steps) {
      step(e);
      out += e.take_output();
    }
    CHECK(out == c.expected);
    CHECK(e.complete());
    CHECK(e.committed());
    CHECK_FALSE(e.failed());
    CHECK(e.take_output().empty());
    if (c.stopped) {
      e.on_content("late");
      e.on_reasoning("late");
      CHECK(e.take_output().empty());
    }
    if (c.options.chat.stream) {
      check_stream(out);
      CHECK(count(out, R"("role")") == 1);
    } else {
      check_body(out);
    }
  }
}

}  // namespace

TEST_CASE("emitter streaming: thinking modes, role, final/usage/[DONE] order") {
  const std::string full_usage = R"({"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,)"
                                 R"("prompt_tokens_details":{"cached_tokens":3},)"
                                 R"("completion_tokens_details":{"reasoning_tokens":2}})";
  const std::vector<Step> answer = {think("Let me think"), think(" more"),         say("Hi"),
                                    say(" there"),         usage(10, 5, 15, 3, 2), end()};
  run_cases({
      {"reasoning_content, include_usage", streamed_with_usage(kRc), answer,
       reasoning("Let me think", true) + reasoning(" more") + content("Hi") + content(" there") +
           final_chunk("stop") + usage_chunk(full_usage) + kDone},
      {"reasoning_content, no usage chunk", streamed(kRc), answer,
       reasoning("Let me think", true) + reasoning(" more") + content("Hi") + content(" there") +
           final_chunk("stop") + kDone},
      {"think_tags", streamed_with_usage(kTags), answer,
       content("<think>Let me think", true) + content(" more") + content("</think>Hi") +
           content(" there") + final_chunk("stop") + usage_chunk(full_usage) + kDone},
      {"hidden", streamed(kHidden), answer,
       content("Hi", true) + content(" there") + final_chunk("stop") + kDone},
      {"think_tags, several rounds",
       streamed(kTags),
       {think("r1"), say("c1"), think("r2"), say("c2"), end()},
       content("<think>r1", true) + content("</think>c1") + content("<think>r2") +
           content("</think>c2") + final_chunk("stop") + kDone},
      {"think_tags, reasoning only",
       streamed(kTags),
       {think("r"), end()},
       content("<think>r", true) + content("</think>") + final_chunk("stop") + kDone},
      {"hidden, reasoning only",
       streamed(kHidden),
       {think("secret"), end()},
       content("", true) + final_chunk("stop") + kDone},
      {"empty answer, zero usage",
       streamed_with_usage(kRc),
       {end()},
       content("", true) + final_chunk("stop") + usage_chunk(kZeroUsage) + kDone},
      {"empty deltas are not emitted",
       streamed(kRc),
       {think(""), say(""), say("x"), say(""), end()},
       content("x", true) + final_chunk("stop") + kDone},
      {"usage total computed when upstream left it 0",
       streamed_with_usage(kRc),
       {say("x"), usage(4, 3, 0), end()},
       content("x", true) + final_chunk("stop") +
           usage_chunk(R"({"prompt_tokens":4,"completion_tokens":3,"total_tokens":7})") + kDone},
      {"finish length",
       streamed(kRc),
       {say("x"), upstream_finish(FinishReason::kLength), end()},
       content("x", true) + final_chunk("length") + kDone},
      {"finish content_filter",
       streamed(kRc),
       {upstream_finish(FinishReason::kContentFilter), end()},
       content("", true) + final_chunk("content_filter") + kDone},
      {"JSON escaping",
       streamed(kRc),
       {say("say \"hi\"\n\tback\\slash \x01 é 😀"), end()},
       content(R"(say \"hi\"\n\tback\\slash \u0001 é 😀)", true) + final_chunk("stop") + kDone},
      {"code point split across deltas",
       streamed(kRc),
       {say("你\xE5"), say("\xA5\xBD"), end()},
       content("你", true) + content("好") + final_chunk("stop") + kDone},
      {"reasoning code point split across the switch to content",
       streamed(kRc),
       {think("a\xE5\xA5"), say("b"), end()},
       reasoning("a", true) + reasoning("\xEF\xBF\xBD\xEF\xBF\xBD") + content("b") +
           final_chunk("stop") + kDone},
  });
}

TEST_CASE("emitter streaming: tool calls") {
  const std::string first = R"("tool_calls":[{"index":0,"id":"call_1","type":"function",)"
                            R"("function":{"name":"get_weather","arguments":""}}])";
  run_cases({
      {"fragments, continuation keys omitted, synthetic id",
       streamed(kRc),
       {tool(0, "call_1", "function", "get_weather", ""), tool(0, "", "", "", "{\"city\""),
        tool(0, "", "", "", ":\"Paris\"}"), tool(1, "", "", "lookup", "{}"), end()},
       delta(first, true) +
           delta(R"("tool_calls":[{"index":0,"function":{"arguments":"{\"city\""}}])") +
           delta(R"("tool_calls":[{"index":0,"function":{"arguments":":\"Paris\"}"}}])") +
           delta(R"("tool_calls":[{"index":1,"id":"call_t1_1","type":"function",)"
                 R"("function":{"name":"lookup","arguments":"{}"}}])") +
           final_chunk("tool_calls") + kDone},
      {"tool call keeps upstream length",
       streamed(kRc),
       {tool(0, "call_1", "function", "get_weather", ""), upstream_finish(FinishReason::kLength),
        end()},
       delta(first, true) + final_chunk("length") + kDone},
      {"content then tool call",
       streamed(kTags),
       {think("plan"), say("Checking."), tool(0, "call_1", "function", "get_weather", ""), end()},
       content("<think>plan", true) + content("</think>Checking.") + delta(first) +
           final_chunk("tool_calls") + kDone},
      {"think tag closed by a tool call",
       streamed(kTags),
       {think("plan"), tool(0, "call_1", "function", "get_weather", ""), end()},
       content("<think>plan", true) + content("</think>") + delta(first) +
           final_chunk("tool_calls") + kDone},
  });
}

TEST_CASE("emitter streaming: stop sequences") {
  run_cases({
      {"split across 2 deltas; later deltas and usage ignored",
       streamed_with_usage(kRc, {"END"}),
       {say("Hello E"), say("ND more"), say("ignored"), usage(1, 2, 3), end()},
       content("Hello ", true) + final_chunk("stop") + usage_chunk(kZeroUsage) + kDone,
       true},
      {"usage received before the stop is kept",
       streamed_with_usage(kRc, {"STOP"}),
       {usage(7, 1, 8), say("abc STOP tail")},
       content("abc ", true) + final_chunk("stop") +
           usage_chunk(R"({"prompt_tokens":7,"completion_tokens":1,"total_tokens":8})") + kDone,
       true},
      {"split across 3 deltas",
       streamed(kRc, {"<|end|>"}),
       {say("ab<|"), say("en"), say("d|>zz")},
       content("ab", true) + final_chunk("stop") + kDone,
       true},
      {"match at the very start",
       streamed(kRc, {"STOP"}),
       {say("STOPxyz")},
       content("", true) + final_chunk("stop") + kDone,
       true},
      {"never completes: held text flushed at the end",
       streamed(kRc, {"xyz"}),
       {say("abcx"), say("y"), end()},
       content("abc", true) + content("xy") + final_chunk("stop") + kDone},
      {"overlapping prefixes",
       streamed(kRc, {"abab"}),
       {say("aba"), say("cab"), say("ab")},
       content("abac", true) + final_chunk("stop") + kDone,
       true},
      {"one of four stops",
       streamed(kRc, {"s1", "s2", "s3", "s4"}),
       {say("go s"), say("4!")},
       content("go ", true) + final_chunk("stop") + kDone,
       true},
      {"not applied to think-tagged reasoning",
       streamed(kTags, {"STOP"}),
       {think("has STOP inside"), say("answer STOP tail")},
       content("<think>has STOP inside", true) + content("</think>answer ") + final_chunk("stop") +
           kDone,
       true},
      {"not applied to reasoning_content",
       streamed(kRc, {"STOP"}),
       {think("STOP in thought"), say("ok STOP")},
       reasoning("STOP in thought", true) + content("ok ") + final_chunk("stop") + kDone,
       true},
      {"a think block breaks a pending match",
       streamed(kTags, {"abc"}),
       {say("xab"), think("r"), say("c"), end()},
       content("x", true) + content("ab<think>r") + content("</think>c") + final_chunk("stop") +
           kDone},
      {"reasoning_content does not break a pending match",
       streamed(kRc, {"abc"}),
       {say("xab"), think("r"), say("c"), end()},
       content("x", true) + reasoning("r") + final_chunk("stop") + kDone,
       true},
      {"a tool call after the match is ignored",
       streamed(kRc, {"END"}),
       {say("done END"), tool(0, "c", "function", "f", "{}"), end()},
       content("done ", true) + final_chunk("stop") + kDone,
       true},
      {"a tool call flushes held content",
       streamed(kRc, {"END"}),
       {say("done EN"), tool(0, "c", "function", "f", "{}"), end()},
       content("done ", true) + content("EN") +
           delta(R"("tool_calls":[{"index":0,"id":"c","type":"function",)"
                 R"("function":{"name":"f","arguments":"{}"}}])") +
           final_chunk("tool_calls") + kDone},
      {"CJK",
       streamed(kRc, {"。"}),
       {say("你好。世界")},
       content("你好", true) + final_chunk("stop") + kDone,
       true},
      {"emoji sharing bytes with the stop",
       streamed(kRc, {"😀"}),
       {say("ok 😁"), say("\xF0\x9F\x98"), say("\x80 tail")},
       content("ok 😁", true) + final_chunk("stop") + kDone,
       true},
      {"emoji prefix that never completes",
       streamed(kRc, {"😀!"}),
       {say("a\xF0\x9F"), say("\x98\x80"), end()},
       content("a", true) + content("😀") + final_chunk("stop") + kDone},
  });
}

TEST_CASE("emitter non-streaming: one chat.completion body") {
  const std::string usage_json = R"({"prompt_tokens":10,"completion_tokens":5,"total_tokens":15})";
  const std::vector<Step> answer = {think("think\n"), say("Hello"), usage(10, 5, 15), end()};
  const std::string tool_calls =
      R"("tool_calls":[{"id":"call_a","type":"function","function":{"name":"f1",)"
      R"("arguments":"{\"x\":1}"}},{"id":"call_b","type":"function",)"
      R"("function":{"name":"f2","arguments":"{\"y\":2}"}}])";
  run_cases({
      {"reasoning_content", whole(kRc), answer,
       body(R"({"role":"assistant","content":"Hello","refusal":null,)"
            R"("reasoning_content":"think\n"})",
            "stop", usage_json)},
      {"think_tags", whole(kTags), answer,
       body(R"({"role":"assistant","content":"<think>think\n</think>Hello","refusal":null})",
            "stop", usage_json)},
      {"hidden", whole(kHidden), answer,
       body(R"({"role":"assistant","content":"Hello","refusal":null})", "stop", usage_json)},
      {"tool calls aggregated by index, content null",
       whole(kRc),
       {tool(1, "call_b", "function", "f2", "{\"y\""),
        tool(0, "call_a", "function", "f1", "{\"x\":"), tool(0, "", "", "", "1}"),
        tool(1, "", "", "", ":2}"), end()},
       body(R"({"role":"assistant","content":null,"refusal":null,)" + tool_calls + "}",
            "tool_calls")},
      {"text and a tool call without id",
       whole(kRc),
       {say("Let me check."), tool(0, "", "", "f", ""), tool(0, "", "", "", "{}"), end()},
       body(R"({"role":"assistant","content":"Let me check.","refusal":null,)"
            R"("tool_calls":[{"id":"call_t1_0","type":"function",)"
            R"("function":{"name":"f","arguments":"{}"}}]})",
            "tool_calls")},
      {"empty answer",
       whole(kRc),
       {end()},
       body(R"({"role":"assistant","content":"","refusal":null})", "stop")},
      {"length",
       whole(kRc),
       {say("x"), upstream_finish(FinishReason::kLength), end()},
       body(R"({"role":"assistant","content":"x","refusal":null})", "length")},
      {"stop split across deltas; later usage ignored",
       whole(kRc, {"two"}),
       {say("one tw"), say("o three"), usage(1, 1, 2), end()},
       body(R"({"role":"assistant","content":"one ","refusal":null})", "stop"),
       true},
      {"think_tags with stop and earlier usage",
       whole(kTags, {"STOP"}),
       {usage(3, 4, 0, 0), think("r"), say("a STOP b")},
       body(R"({"role":"assistant","content":"<think>r</think>a ","refusal":null})", "stop",
            R"({"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,)"
            R"("prompt_tokens_details":{"cached_tokens":0}})"),
       true},
      {"held text flushed at the end",
       whole(kRc, {"xyz"}),
       {say("abx"), end()},
       body(R"({"role":"assistant","content":"abx","refusal":null})", "stop")},
  });
}

TEST_CASE("emitter: commit point") {
  struct Row {
    const char* name;
    bool stream;
    ThinkingMode mode;
    Step step;
    bool committed;
  };
  const std::vector<Row> rows = {
      {"visible reasoning commits", true, kRc, think("r"), true},
      {"think tag commits", true, kTags, think("r"), true},
      {"hidden reasoning does not", true, kHidden, think("r"), false},
      {"empty content does not", true, kRc, say(""), false},
      {"content commits", true, kRc, say("c"), true},
      {"tool call commits", true, kRc, tool(0, "c", "function", "f", ""), true},
      {"usage does not", true, kRc, usage(1, 1, 2), false},
      {"non-streaming content does not", false, kRc, say("c"), false},
      {"non-streaming end does", false, kRc, end(), true},
  };
  for (const Row& r : rows) {
    INFO(r.name);
    Emitter e(options(r.stream, false, r.mode, {}));
    r.step(e);
    CHECK(e.committed() == r.committed);
    CHECK(e.take_output().empty() == !r.committed);
  }
  Emitter held(options(true, false, kRc, {"STOP"}));
  held.on_content("ST");  // entirely held back: nothing written yet
  CHECK_FALSE(held.committed());
  CHECK(held.take_output().empty());
}

TEST_CASE("emitter: failure and the error event") {
  const zproxy::Error error =
      zproxy::make_error(zproxy::Errc::kUpstreamTruncated, "upstream \"ended\" early");
  const std::string event =
      R"(data: {"error":{"message":"upstream \"ended\" early","type":"upstream_error",)"
      R"("param":null,"code":"upstream_truncated"}})"
      "\n\n";
  zproxy::UpstreamFailure failure{error, zproxy::Verdict::kTransient, 0, 0};

  SECTION("after the commit point") {
    Emitter e(options(true, true, kRc, {"ZZZ"}));
    e.on_content("partial Z");
    e.on_failure(failure);
    e.on_content("more");
    e.on_usage(Usage{1, 1, 2, -1, -1});
    e.on_end();
    CHECK(e.failed());
    CHECK(e.failure().error.code == zproxy::Errc::kUpstreamTruncated);
    CHECK_FALSE(e.complete());
    CHECK(e.take_output() == content("partial ", true));  // held "Z" is dropped
    e.write_error_event(error);
    e.write_error_event(error);  // once only
    e.on_end();
    const std::string out = e.take_output();
    CHECK(out == event + kDone);
    check_stream(content("partial ", true) + out);
  }
  SECTION("before the commit point nothing is written") {
    Emitter e(options(true, false, kHidden, {}));
    e.on_reasoning("hidden");
    e.on_failure(failure);
    CHECK(e.failed());
    CHECK_FALSE(e.committed());
    CHECK(e.take_output().empty());
  }
  SECTION("non-streaming: no error event") {
    Emitter e(options(false, false, kRc, {}));
    e.on_content("x");
    e.on_failure(failure);
    e.write_error_event(error);
    CHECK(e.take_output().empty());
    CHECK_FALSE(e.committed());
  }
  SECTION("a failure after a stop match is ignored") {
    Emitter e(options(true, false, kRc, {"x"}));
    e.on_content("ax");
    e.on_failure(failure);
    CHECK_FALSE(e.failed());
    CHECK(e.complete());
    e.write_error_event(error);
    CHECK(e.take_output() == content("a", true) + final_chunk("stop") + kDone);
  }
}

TEST_CASE("emitter: ids and model are escaped once into every document") {
  EmitterOptions o = options(true, false, kRc, {});
  o.chat.model = "we\"ird";
  Emitter e(o);
  e.on_content("x");
  e.on_end();
  const std::string out = e.take_output();
  CHECK(count(out, R"("model":"we\"ird")") == 2);
  check_stream(out);
}
