#pragma once
// The canonical answer events a client dialect's emitter receives (docs/architecture.md §2):
// the upstream decoders' DeltaSink events (src/core/upstream.h) after the rules every dialect
// shares have been applied once, in the engine (src/engine/answer_rules.h): stop strings cut
// the text, the thinking mode has routed or dropped reasoning, no text splits a UTF-8 code
// point, usage after a stop match is ignored, and the finish reason is final.
//
// An emitter turns them into its dialect's exact bytes, streaming or as one body, in an owned
// buffer the engine drains with take_output(). Text views are valid during the call only;
// texts are never empty.

#include <string>
#include <string_view>

#include "core/errors.h"
#include "core/result.h"
#include "core/upstream.h"

namespace zproxy {

struct AnswerEnd {
  // kStop also for a proxy-enforced stop string; kToolCalls also when upstream said "stop"
  // after a tool call.
  FinishReason reason = FinishReason::kStop;
  std::string_view stop_sequence;  // the stop string that ended the answer; empty otherwise
  Usage usage;                     // zeros when upstream sent none
};

class AnswerEmitter {
 public:
  virtual ~AnswerEmitter() = default;
  virtual void on_reasoning(std::string_view text) = 0;  // visible reasoning
  virtual void on_text(std::string_view text) = 0;       // answer text
  // A tool call fragment; text before it has been delivered and no stop string spans it.
  virtual void on_tool_call(const ToolCallDelta& call) = 0;
  // Web search results (url_citation annotations); dialects without annotations ignore them.
  virtual void on_citations(std::span<const Citation> citations) { (void)citations; }
  // The answer is complete; nothing follows. An error: the answer cannot be written in this
  // dialect (a non-streaming tool input that is not an object), and nothing was written.
  virtual Status on_end(const AnswerEnd& end) = 0;

  // Streaming, silence of KEEPALIVE_S: the dialect's keep-alive (it commits the stream).
  virtual void write_keepalive() = 0;
  // Streaming, a failure once committed: the dialect's error event and end of stream, once.
  // No-op when not streaming or when the answer is already complete.
  virtual void write_error_event(const Error& error) = 0;

  // Streaming: bytes the client will see have been written (the commit point); a dropped
  // delta does not commit. Non-streaming: the body has been written.
  virtual bool committed() const = 0;
  // Bytes written since the last call.
  virtual std::string take_output() = 0;
};

}  // namespace zproxy
