// Every client dialect's emitter, driven from one canonical event list built as C++ values (no
// JSON), through the engine's shared answer rules, streaming and not. One list, every dialect:
// a new emitter joins the table below.

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dialect/anthropic_messages/emitter.h"
#include "dialect/openai_chat/emitter.h"
#include "engine/answer_rules.h"

using namespace zproxy;

namespace {

// The canonical answer: reasoning, text in two deltas, a tool call in two fragments, usage
// with cached tokens, upstream's "stop" (which becomes a tool-call finish).
void play(DeltaSink& sink) {
  sink.on_reasoning("Think");
  sink.on_reasoning("ing.");
  sink.on_content("Hello, ");
  sink.on_content("world");
  sink.on_tool_call(ToolCallDelta{0, "call_1", "function", "lookup", "{\"q\":"});
  sink.on_tool_call(ToolCallDelta{0, "", "", "", "\"x\"}"});
  sink.on_usage(Usage{20, 9, 29, 5, -1});
  sink.on_finish_reason(FinishReason::kStop);
  sink.on_end();
}

struct Dialect {
  const char* name;
  std::function<std::unique_ptr<AnswerEmitter>(bool stream)> make;
  std::string whole;                 // the non-streaming body, exactly
  std::vector<std::string> markers;  // in this order in the stream
};

std::string run(const Dialect& d, bool stream, const std::vector<std::string>& stop = {}) {
  auto emitter = d.make(stream);
  AnswerRules rules(*emitter, ThinkingMode::kReasoningContent, stop);
  play(rules);
  CHECK(rules.complete());
  CHECK(emitter->committed());
  return emitter->take_output();
}

const std::vector<Dialect>& dialects() {
  static const std::vector<Dialect> table = {
      {"chat",
       [](bool stream) {
         return std::make_unique<ChatEmitter>(
             ChatEmitterOptions{"chatcmpl-x", 1, "m", stream, true});
       },
       R"({"id":"chatcmpl-x","object":"chat.completion","created":1,"model":"m","choices":[)"
       R"({"index":0,"message":{"role":"assistant","content":"Hello, world","refusal":null,)"
       R"("reasoning_content":"Thinking.","tool_calls":[{"id":"call_1","type":"function",)"
       R"("function":{"name":"lookup","arguments":"{\"q\":\"x\"}"}}]},"logprobs":null,)"
       R"("finish_reason":"tool_calls"}],"usage":{"prompt_tokens":20,"completion_tokens":9,)"
       R"("total_tokens":29,"prompt_tokens_details":{"cached_tokens":5}}})",
       {R"("reasoning_content":"Think")", R"("content":"Hello, ")", R"("name":"lookup")",
        R"("finish_reason":"tool_calls")", R"("usage":)", "data: [DONE]\n\n"}},
      {"messages",
       [](bool stream) {
         MessagesEmitterOptions o;
         o.id = "msg_000000000000000000000000";
         o.model = "claude-x";
         o.request_id = "req_1";
         o.stream = stream;
         o.input_estimate = 3;
         return std::make_unique<MessagesEmitter>(o);
       },
       R"({"id":"msg_000000000000000000000000","type":"message","role":"assistant",)"
       R"("model":"claude-x","content":[{"type":"thinking","thinking":"Thinking.",)"
       R"("signature":"zproxy-unsigned"},{"type":"text","text":"Hello, world"},)"
       R"({"type":"tool_use","id":"call_1","name":"lookup","input":{"q":"x"}}],)"
       R"("stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":15,)"
       R"("output_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":5}})",
       {"event: message_start\n", "event: ping\n",
        R"("content_block":{"type":"thinking","thinking":"","signature":""})",
        R"({"type":"thinking_delta","thinking":"Think"})",
        R"({"type":"signature_delta","signature":"zproxy-unsigned"})",
        R"("content_block":{"type":"text","text":""})", R"({"type":"text_delta","text":"world"})",
        R"("content_block":{"type":"tool_use","id":"call_1","name":"lookup","input":{}})",
        R"({"type":"input_json_delta","partial_json":"{\"q\":"})",
        R"({"type":"input_json_delta","partial_json":"\"x\"}"})",
        R"("stop_reason":"tool_use","stop_sequence":null)", "event: message_stop\n"}},
  };
  return table;
}

}  // namespace

TEST_CASE("every dialect's emitter writes the same canonical answer", "[emitters]") {
  for (const Dialect& d : dialects()) {
    INFO(d.name);
    CHECK(run(d, false) == d.whole);
    const std::string stream = run(d, true);
    size_t at = 0;
    for (const std::string& marker : d.markers) {
      INFO(marker);
      const size_t found = stream.find(marker, at);
      REQUIRE(found != std::string::npos);
      at = found + marker.size();
    }
  }
}

TEST_CASE("a stop string ends every dialect's answer the same way", "[emitters]") {
  for (const Dialect& d : dialects()) {
    INFO(d.name);
    const std::string whole = run(d, false, {"o, w"});
    CHECK(whole.find("Hell\"") != std::string::npos);  // text cut before the match
    CHECK(whole.find("lookup") == std::string::npos);  // nothing after it
  }
  const std::string messages = run(dialects()[1], false, {"o, w"});
  CHECK(messages.find(R"("stop_reason":"stop_sequence","stop_sequence":"o, w")") !=
        std::string::npos);
}
