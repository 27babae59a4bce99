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
#include "dialect/openai_responses/emitter.h"
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
  std::string stream;                // when not empty: the streamed bytes, exactly
};

// The Responses emitter's wall clock (completed_at), held still.
constexpr int64_t kResponsesWallMs = 1700000005000;

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
        R"("finish_reason":"tool_calls")", R"("usage":)", "data: [DONE]\n\n"},
       {}},
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
        R"("stop_reason":"tool_use","stop_sequence":null)", "event: message_stop\n"},
       {}},
      {"responses",
       [](bool stream) {
         ResponsesEmitterOptions o;
         o.id = "resp_00000000000000000000000000000000";
         o.model = "m";
         o.created_at = 1700000000;
         o.wall_ms = &kResponsesWallMs;
         o.stream = stream;
         o.echo = R"("metadata":{})";
         o.id_seed = 1;
         return std::make_unique<ResponsesEmitter>(o);
       },
       R"({"id":"resp_00000000000000000000000000000000","object":"response",)"
       R"("created_at":1700000000,"status":"completed","background":false,)"
       R"("completed_at":1700000005,"error":null,"incomplete_details":null,"model":"m",)"
       R"("output":[{"id":"rs_353efb2c7263eb2ca7f53743a176f8f4","type":"reasoning",)"
       R"("status":"completed","summary":[],"content":[{"type":"reasoning_text",)"
       R"("text":"Thinking."}]},{"id":"msg_7cae2e54d18e81771d83cc74e4015eb4","type":"message",)"
       R"("status":"completed","role":"assistant","content":[{"type":"output_text",)"
       R"("annotations":[],"logprobs":[],"text":"Hello, world"}]},)"
       R"({"id":"fc_be0924537e47edda6083eefcc1dbab70","type":"function_call",)"
       R"("status":"completed","call_id":"call_1","name":"lookup","arguments":"{\"q\":\"x\"}"}],)"
       R"("previous_response_id":null,"store":false,"truncation":"disabled",)"
       R"("usage":{"input_tokens":20,"input_tokens_details":{"cached_tokens":5,)"
       R"("cache_write_tokens":0},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":)"
       R"(0},"total_tokens":29},"metadata":{}})",
       {"event: response.created\n", "event: response.in_progress\n",
        "event: response.reasoning_text.delta\n", "event: response.output_text.delta\n",
        "event: response.function_call_arguments.delta\n", "event: response.completed\n"},
       "event: response.created\ndata: "
       R"({"type":"response.created","sequence_number":0,)"
       R"("response":{"id":"resp_00000000000000000000000000000000","object":"response",)"
       R"("created_at":1700000000,"status":"in_progress","background":false,"completed_at":null,)"
       R"("error":null,"incomplete_details":null,"model":"m","output":[],)"
       R"("previous_response_id":null,"store":false,"truncation":"disabled","usage":null,)"
       R"("metadata":{}}})"
       "\n\n"
       "event: response.in_progress\ndata: "
       R"({"type":"response.in_progress","sequence_number":1,)"
       R"("response":{"id":"resp_00000000000000000000000000000000","object":"response",)"
       R"("created_at":1700000000,"status":"in_progress","background":false,"completed_at":null,)"
       R"("error":null,"incomplete_details":null,"model":"m","output":[],)"
       R"("previous_response_id":null,"store":false,"truncation":"disabled","usage":null,)"
       R"("metadata":{}}})"
       "\n\n"
       "event: response.output_item.added\ndata: "
       R"({"type":"response.output_item.added","sequence_number":2,"output_index":0,)"
       R"("item":{"id":"rs_353efb2c7263eb2ca7f53743a176f8f4","type":"reasoning",)"
       R"("status":"in_progress","summary":[],"content":[]}})"
       "\n\n"
       "event: response.content_part.added\ndata: "
       R"({"type":"response.content_part.added","sequence_number":3,"output_index":0,)"
       R"("item_id":"rs_353efb2c7263eb2ca7f53743a176f8f4","content_index":0,)"
       R"("part":{"type":"reasoning_text","text":""}})"
       "\n\n"
       "event: response.reasoning_text.delta\ndata: "
       R"({"type":"response.reasoning_text.delta","sequence_number":4,"output_index":0,)"
       R"("item_id":"rs_353efb2c7263eb2ca7f53743a176f8f4","content_index":0,"delta":"Think"})"
       "\n\n"
       "event: response.reasoning_text.delta\ndata: "
       R"({"type":"response.reasoning_text.delta","sequence_number":5,"output_index":0,)"
       R"("item_id":"rs_353efb2c7263eb2ca7f53743a176f8f4","content_index":0,"delta":"ing."})"
       "\n\n"
       "event: response.reasoning_text.done\ndata: "
       R"({"type":"response.reasoning_text.done","sequence_number":6,"output_index":0,)"
       R"("item_id":"rs_353efb2c7263eb2ca7f53743a176f8f4","content_index":0,"text":"Thinking."})"
       "\n\n"
       "event: response.content_part.done\ndata: "
       R"({"type":"response.content_part.done","sequence_number":7,"output_index":0,)"
       R"("item_id":"rs_353efb2c7263eb2ca7f53743a176f8f4","content_index":0,)"
       R"("part":{"type":"reasoning_text","text":"Thinking."}})"
       "\n\n"
       "event: response.output_item.done\ndata: "
       R"({"type":"response.output_item.done","sequence_number":8,"output_index":0,)"
       R"("item":{"id":"rs_353efb2c7263eb2ca7f53743a176f8f4","type":"reasoning",)"
       R"("status":"completed","summary":[],"content":[{"type":"reasoning_text",)"
       R"("text":"Thinking."}]}})"
       "\n\n"
       "event: response.output_item.added\ndata: "
       R"({"type":"response.output_item.added","sequence_number":9,"output_index":1,)"
       R"("item":{"id":"msg_7cae2e54d18e81771d83cc74e4015eb4","type":"message",)"
       R"("status":"in_progress","role":"assistant","content":[]}})"
       "\n\n"
       "event: response.content_part.added\ndata: "
       R"({"type":"response.content_part.added","sequence_number":10,"output_index":1,)"
       R"("item_id":"msg_7cae2e54d18e81771d83cc74e4015eb4","content_index":0,)"
       R"("part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}})"
       "\n\n"
       "event: response.output_text.delta\ndata: "
       R"({"type":"response.output_text.delta","sequence_number":11,"output_index":1,)"
       R"("item_id":"msg_7cae2e54d18e81771d83cc74e4015eb4","content_index":0,"delta":"Hello, ",)"
       R"("logprobs":[]})"
       "\n\n"
       "event: response.output_text.delta\ndata: "
       R"({"type":"response.output_text.delta","sequence_number":12,"output_index":1,)"
       R"("item_id":"msg_7cae2e54d18e81771d83cc74e4015eb4","content_index":0,"delta":"world",)"
       R"("logprobs":[]})"
       "\n\n"
       "event: response.output_text.done\ndata: "
       R"({"type":"response.output_text.done","sequence_number":13,"output_index":1,)"
       R"("item_id":"msg_7cae2e54d18e81771d83cc74e4015eb4","content_index":0,"text":"Hello,)"
       R"( world","logprobs":[]})"
       "\n\n"
       "event: response.content_part.done\ndata: "
       R"({"type":"response.content_part.done","sequence_number":14,"output_index":1,)"
       R"("item_id":"msg_7cae2e54d18e81771d83cc74e4015eb4","content_index":0,)"
       R"("part":{"type":"output_text","annotations":[],"logprobs":[],"text":"Hello, world"}})"
       "\n\n"
       "event: response.output_item.done\ndata: "
       R"({"type":"response.output_item.done","sequence_number":15,"output_index":1,)"
       R"("item":{"id":"msg_7cae2e54d18e81771d83cc74e4015eb4","type":"message",)"
       R"("status":"completed","role":"assistant","content":[{"type":"output_text",)"
       R"("annotations":[],"logprobs":[],"text":"Hello, world"}]}})"
       "\n\n"
       "event: response.output_item.added\ndata: "
       R"({"type":"response.output_item.added","sequence_number":16,"output_index":2,)"
       R"("item":{"id":"fc_be0924537e47edda6083eefcc1dbab70","type":"function_call",)"
       R"("status":"in_progress","call_id":"call_1","name":"lookup","arguments":""}})"
       "\n\n"
       "event: response.function_call_arguments.delta\ndata: "
       R"({"type":"response.function_call_arguments.delta","sequence_number":17,)"
       R"("output_index":2,"item_id":"fc_be0924537e47edda6083eefcc1dbab70","delta":"{\"q\":"})"
       "\n\n"
       "event: response.function_call_arguments.delta\ndata: "
       R"({"type":"response.function_call_arguments.delta","sequence_number":18,)"
       R"("output_index":2,"item_id":"fc_be0924537e47edda6083eefcc1dbab70","delta":"\"x\"}"})"
       "\n\n"
       "event: response.function_call_arguments.done\ndata: "
       R"({"type":"response.function_call_arguments.done","sequence_number":19,"output_index":2,)"
       R"("item_id":"fc_be0924537e47edda6083eefcc1dbab70","name":"lookup",)"
       R"("arguments":"{\"q\":\"x\"}"})"
       "\n\n"
       "event: response.output_item.done\ndata: "
       R"({"type":"response.output_item.done","sequence_number":20,"output_index":2,)"
       R"("item":{"id":"fc_be0924537e47edda6083eefcc1dbab70","type":"function_call",)"
       R"("status":"completed","call_id":"call_1","name":"lookup","arguments":"{\"q\":\"x\"}"}})"
       "\n\n"
       "event: response.completed\ndata: "
       R"({"type":"response.completed","sequence_number":21,)"
       R"("response":{"id":"resp_00000000000000000000000000000000","object":"response",)"
       R"("created_at":1700000000,"status":"completed","background":false,)"
       R"("completed_at":1700000005,"error":null,"incomplete_details":null,"model":"m",)"
       R"("output":[{"id":"rs_353efb2c7263eb2ca7f53743a176f8f4","type":"reasoning",)"
       R"("status":"completed","summary":[],"content":[{"type":"reasoning_text",)"
       R"("text":"Thinking."}]},{"id":"msg_7cae2e54d18e81771d83cc74e4015eb4","type":"message",)"
       R"("status":"completed","role":"assistant","content":[{"type":"output_text",)"
       R"("annotations":[],"logprobs":[],"text":"Hello, world"}]},)"
       R"({"id":"fc_be0924537e47edda6083eefcc1dbab70","type":"function_call",)"
       R"("status":"completed","call_id":"call_1","name":"lookup","arguments":"{\"q\":\"x\"}"}],)"
       R"("previous_response_id":null,"store":false,"truncation":"disabled",)"
       R"("usage":{"input_tokens":20,"input_tokens_details":{"cached_tokens":5,)"
       R"("cache_write_tokens":0},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":)"
       R"(0},"total_tokens":29},"metadata":{}}})"
       "\n\n"},
  };
  return table;
}

}  // namespace

TEST_CASE("every dialect's emitter writes the same canonical answer", "[emitters]") {
  for (const Dialect& d : dialects()) {
    INFO(d.name);
    CHECK(run(d, false) == d.whole);
    const std::string stream = run(d, true);
    if (!d.stream.empty()) CHECK(stream == d.stream);
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
