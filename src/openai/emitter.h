#pragma once
// The OpenAI side of one answer: receives semantic deltas from either upstream decoder and
// writes OpenAI bytes into an owned buffer the engine drains. Applies the thinking output mode
// and the stop sequences; streaming writes `chat.completion.chunk` events, non-streaming
// aggregates into one `chat.completion` body written when the answer ends.
//
// Streaming bytes, exactly (INTERFACE.md section 4): every event is "data: <json>\n\n"; chunks
// share id/created/model; every choice has "finish_reason" (null until the last choice chunk);
// the first delta carries "role":"assistant"; then one chunk with an empty delta and the
// finish_reason; then, only when include_usage, one chunk with "choices":[] and "usage"; then
// "data: [DONE]\n\n". Chunks other than the usage chunk carry no "usage" key.
//
// Stop sequences: output (reasoning excluded, content only) is cut before the first match, even
// when a match straddles deltas; text that might be the start of a match is held back until it
// is decided. On a match the answer ends with finish_reason "stop" and cancel_upstream() is true.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/upstream.h"

namespace zproxy {

struct EmitterOptions {
  std::string id;     // "chatcmpl-…"
  int64_t created = 0;  // Unix seconds
  std::string model;  // the public name the client sent
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

  // Streaming: a content, reasoning or tool-call delta has been written (the commit point).
  // Non-streaming: the full body has been written.
  bool committed() const { return committed_; }
  // The whole answer is in the output (through "data: [DONE]" when streaming).
  bool complete() const { return complete_; }
  // A stop sequence matched: the engine should stop reading and cancel the upstream.
  bool cancel_upstream() const { return cancel_upstream_; }
  // on_failure was called (nothing more is written by deltas after it).
  bool failed() const { return failed_; }
  const UpstreamFailure& failure() const { return failure_; }

  // Streaming only, after a failure once committed: writes the error event and [DONE].
  void write_error_event(const Error& error);

  // Bytes written since the last call.
  std::string take_output();

 private:
  void emit_content(std::string_view text);
  void flush_held();
  void finish(FinishReason reason);
  void write_delta_chunk(std::string_view role_reasoning_or_content_json);

  EmitterOptions opt_;
  std::string out_;
  std::string held_;         // content held back: could be the start of a stop sequence
  std::string content_;      // non-streaming: aggregated content
  std::string reasoning_;    // non-streaming: aggregated reasoning
  std::string tool_calls_;   // aggregated tool calls JSON array elements
  bool in_think_tag_ = false;  // think_tags mode: "<think>" opened, not yet closed
  bool role_sent_ = false;
  bool committed_ = false;
  bool complete_ = false;
  bool cancel_upstream_ = false;
  bool failed_ = false;
  bool has_usage_ = false;
  bool saw_tool_calls_ = false;
  FinishReason finish_ = FinishReason::kStop;
  bool has_finish_ = false;
  Usage usage_;
  UpstreamFailure failure_;
};

}  // namespace zproxy
