#pragma once
// The OpenAI side of one answer: receives semantic deltas from either upstream decoder and
// writes OpenAI bytes into an owned buffer the engine drains. Applies the thinking output mode
// and the stop sequences; streaming writes `chat.completion.chunk` events, non-streaming
// aggregates into one `chat.completion` body written when the answer ends.
//
// Streaming bytes, exactly (docs/contract.md §5.7): every event is "data: <json>\n\n"; chunks
// share id/created/model; every choice has "finish_reason" (null until the last choice chunk);
// the first delta carries "role":"assistant"; then one chunk with an empty delta and the
// finish_reason; then, only when include_usage, one chunk with "choices":[] and "usage"; then
// "data: [DONE]\n\n". Chunks other than the usage chunk carry no "usage" key.
//
// Stop sequences: output (reasoning excluded, content only) is cut before the first match, even
// when a match straddles deltas; text that might be the start of a match is held back until it
// is decided. On a match the answer ends with finish_reason "stop" (complete(): the exchange stops
// reading upstream).
// Every later delta is ignored, usage included: the usage chunk / body carries the usage received
// before the match (zeros if none). A match may not span a think block (think_tags mode), a tool
// call or the end; held text is flushed there.
//
// Thinking modes: kReasoningContent puts reasoning in "reasoning_content", never in content;
// kThinkTags puts it in content as "<think>" reasoning "</think>" (opened before the first
// reasoning text, closed by the next content, tool call or end; each round wrapped again);
// kHidden drops it. Text never splits a UTF-8 code point across chunks; bytes that are not UTF-8
// are written as U+FFFD.
//
// Finish reason: upstream's (kStop when it sent none), except that kStop becomes "tool_calls"
// when a tool call was seen. Usage: zeros when upstream sent none; total_tokens = prompt +
// completion when upstream left it 0; the *_details objects only when reported. An empty
// streamed answer still opens with {"role":"assistant","content":""}. A tool call without an id
// gets "call_<completion id without chatcmpl->_<index>"; its first chunk always has id and type.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/upstream.h"
#include "dialect/openai_chat/stop_matcher.h"
#include "dialect/openai_chat/writer.h"

namespace zproxy {

struct EmitterOptions {
  std::string id;       // "chatcmpl-…"
  int64_t created = 0;  // Unix seconds
  std::string model;    // the public name the client sent
  bool stream = false;
  bool include_usage = false;
  ThinkingMode thinking = ThinkingMode::kReasoningContent;
  std::vector<std::string> stop;
};

class Emitter final : public DeltaSink {
 public:
  explicit Emitter(EmitterOptions options);

  void on_reasoning(std::string_view text) override;
  void on_content(std::string_view text) override;
  void on_tool_call(const ToolCallDelta& call) override;
  void on_usage(const Usage& usage) override;
  void on_finish_reason(FinishReason reason) override;
  void on_end() override;
  void on_failure(const UpstreamFailure& failure) override;

  // Streaming: a content, visible reasoning (a "<think>" opening included) or tool-call delta
  // has been written (the commit point), or the answer ended. Non-streaming: the body has been
  // written.
  bool committed() const { return committed_; }
  // The whole answer is in the output (through "data: [DONE]" when streaming).
  bool complete() const { return complete_; }
  // A stop sequence matched: the engine should stop reading and cancel the upstream.
  // on_failure was called (nothing more is written by deltas after it).
  bool failed() const { return failed_; }
  const UpstreamFailure& failure() const { return failure_; }

  // Streaming only, after a failure (or a timeout the engine detected) once committed: writes
  // `data: {"error":{…}}` and [DONE], once; later deltas are ignored. No-op when not streaming or
  // when the answer is already complete. complete() stays false.
  void write_error_event(const Error& error);

  // Bytes written since the last call.
  std::string take_output();

 private:
  // One tool call as aggregated from its fragments (arguments only when not streaming).
  struct ToolCall {
    int index = 0;
    std::string id;
    std::string type;
    std::string name;
    std::string arguments;
  };

  bool closed() const { return complete_ || failed_ || error_written_; }
  void close_reasoning(std::string& content_piece);
  bool flush_content(std::string& content_piece);
  void write_content(std::string_view text);
  void write_reasoning(std::string_view text);
  void write_text_chunk(const std::string& open, std::string_view text);
  void begin_delta_chunk();
  void end_chunk(std::string_view finish_reason_json);
  void write_tool_call(const ToolCallDelta& call);
  ToolCall& tool_call_slot(int index, bool& is_new);
  FinishReason end_reason() const;
  void finish(FinishReason reason);
  void write_final_chunks();
  void write_body();
  void append_message(std::string& out) const;
  void append_usage(std::string& out) const;

  EmitterOptions opt_;
  std::string head_;  // `{"id":…,"object":…,"created":…,"model":…,"choices":[` of every document
  std::string chunk_head_;      // "data: " + head_ + `{"index":0,"delta":{`
  std::string content_open_;    // chunk_head_ + `"content":"`
  std::string reasoning_open_;  // chunk_head_ + `"reasoning_content":"`
  OutputBuffer out_;
  std::string piece_;  // the text a delta releases, reused from delta to delta
  StopMatcher content_stop_;    // answer content against opt_.stop
  StopMatcher reasoning_text_;  // no stop strings: holds an incomplete trailing code point only
  std::string content_;         // non-streaming: aggregated content (think tags included)
  std::string reasoning_;       // non-streaming: aggregated reasoning_content
  std::vector<ToolCall> tool_calls_;  // ordered by index
  bool in_think_tag_ = false;         // think_tags mode: "<think>" opened, not yet closed
  bool role_sent_ = false;
  bool committed_ = false;
  bool complete_ = false;
  bool failed_ = false;
  bool error_written_ = false;
  FinishReason finish_ = FinishReason::kStop;
  bool has_finish_ = false;
  Usage usage_;
  UpstreamFailure failure_;
};

}  // namespace zproxy
