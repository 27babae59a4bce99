#pragma once
// The rules every client dialect shares, between an upstream decoder and a dialect's emitter
// (docs/contract.md §5.4, §5.5): a DeltaSink that forwards canonical answer events to an
// AnswerEmitter.
//
// Stop strings: answer text (reasoning excluded) is cut before the first match, even when a
// match straddles deltas; text that might be the start of a match is held back until it is
// decided. On a match the answer ends with kStop and the matched string (complete(): the
// exchange stops reading upstream). Every later delta is ignored, usage included. A match may
// not span a think block (think_tags mode), a tool call or the end; held text is flushed there.
//
// Thinking modes: kReasoningContent delivers reasoning as reasoning; kThinkTags delivers it as
// text "<think>" reasoning "</think>" (opened before the first reasoning text, closed by the next
// text, tool call or end; each round wrapped again); kHidden drops it. Text never splits a UTF-8
// code point between deliveries.
//
// Finish reason: upstream's (kStop when it sent none), except that kStop becomes kToolCalls when
// a tool call was seen.

#include <string>
#include <string_view>

#include "config/config.h"
#include "core/answer.h"
#include "core/upstream.h"
#include "engine/stop_matcher.h"

namespace zproxy {

class AnswerRules final : public DeltaSink {
 public:
  AnswerRules(AnswerEmitter& emitter, ThinkingMode thinking, const std::vector<std::string>& stop);

  void on_reasoning(std::string_view text) override;
  void on_content(std::string_view text) override;
  void on_tool_call(const ToolCallDelta& call) override;
  void on_usage(const Usage& usage) override;
  void on_finish_reason(FinishReason reason) override;
  void on_citations(std::span<const Citation> citations) override {
    if (!closed()) emitter_.on_citations(citations);
  }
  void on_end() override;
  void on_failure(const UpstreamFailure& failure) override;

  // After a failure (or a timeout the engine detected) once committed: the emitter's error
  // event; later deltas are ignored.
  void write_error_event(const Error& error);

  // JSON_SCHEMA=emulate: an answer that ends normally must be one JSON value, else it fails with
  // kUpstreamBadResponse (an answer cut by length or a filter, or ending in tool calls, is not
  // checked).
  void check_json() { check_json_ = true; }

  // The whole answer has gone to the emitter (upstream's end, or a stop string matched).
  bool complete() const { return complete_; }
  // on_failure was called; nothing more reaches the emitter from deltas.
  bool failed() const { return failed_; }
  const UpstreamFailure& failure() const { return failure_; }
  // Once complete: how the answer ended, and whether a stop string ended it.
  FinishReason end_reason() const { return end_reason_; }
  const Usage& usage() const { return usage_; }  // what upstream reported (zeros: nothing)
  bool ended_by_stop_string() const { return ended_by_stop_; }

 private:
  bool closed() const { return complete_ || failed_ || aborted_; }
  void close_reasoning(std::string& text_piece);
  bool flush_text(std::string& text_piece);
  void deliver_text(std::string_view text) {
    if (!text.empty()) emit_text(text);
  }
  void emit_text(std::string_view text) {
    if (check_json_) json_text_ += text;
    emitter_.on_text(text);
  }
  void finish(FinishReason reason);

  AnswerEmitter& emitter_;
  ThinkingMode thinking_;
  std::string piece_;           // the text a delta releases, reused from delta to delta
  StopMatcher text_stop_;       // answer text against the stop strings
  StopMatcher reasoning_text_;  // no stop strings: holds an incomplete trailing code point only
  bool in_think_tag_ = false;   // think_tags mode: "<think>" opened, not yet closed
  bool tool_seen_ = false;
  bool complete_ = false;
  bool failed_ = false;
  bool aborted_ = false;  // an error event was written
  FinishReason finish_ = FinishReason::kStop;
  bool has_finish_ = false;
  FinishReason end_reason_ = FinishReason::kStop;
  bool ended_by_stop_ = false;
  bool check_json_ = false;
  std::string json_text_;  // the answer text, when it must be JSON
  Usage usage_;
  UpstreamFailure failure_;
};

}  // namespace zproxy
