#include "engine/answer_rules.h"

#include "json/json.h"

namespace zproxy {
namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";

}  // namespace

AnswerRules::AnswerRules(AnswerEmitter& emitter, ThinkingMode thinking,
                         const std::vector<std::string>& stop)
    : emitter_(emitter),
      thinking_(thinking),
      text_stop_(stop),
      reasoning_text_(std::vector<std::string>{}) {}

void AnswerRules::on_reasoning(std::string_view text) {
  if (closed() || text.empty() || thinking_ == ThinkingMode::kHidden) return;
  std::string& piece = piece_;
  piece.clear();
  if (thinking_ == ThinkingMode::kReasoningContent) {
    if (reasoning_text_.pass_through(text)) {
      emitter_.on_reasoning(text);
      return;
    }
    reasoning_text_.feed(text, piece);
    if (!piece.empty()) emitter_.on_reasoning(piece);
    return;
  }
  if (!in_think_tag_) {
    // The think block breaks the answer text: held text can no longer grow into a match.
    if (flush_text(piece)) return;
    piece += kThinkOpen;
    in_think_tag_ = true;
  }
  reasoning_text_.feed(text, piece);
  deliver_text(piece);
}

void AnswerRules::on_content(std::string_view text) {
  if (closed() || text.empty()) return;
  std::string& piece = piece_;
  piece.clear();
  close_reasoning(piece);
  if (piece.empty() && text_stop_.pass_through(text)) {
    emit_text(text);
    return;
  }
  const bool matched = text_stop_.feed(text, piece) == StopScan::kMatched;
  deliver_text(piece);
  if (matched) finish(FinishReason::kStop);
}

void AnswerRules::on_tool_call(const ToolCallDelta& call) {
  if (closed()) return;
  std::string& piece = piece_;
  piece.clear();
  close_reasoning(piece);
  if (flush_text(piece)) return;
  deliver_text(piece);
  tool_seen_ = true;
  emitter_.on_tool_call(call);
}

void AnswerRules::on_usage(const Usage& usage) {
  if (closed()) return;  // after a stop match the answer is already written
  usage_ = usage;
}

void AnswerRules::on_finish_reason(FinishReason reason) {
  if (closed()) return;
  finish_ = reason;
  has_finish_ = true;
}

void AnswerRules::on_end() {
  if (closed()) return;
  std::string& piece = piece_;
  piece.clear();
  close_reasoning(piece);
  if (flush_text(piece)) return;
  deliver_text(piece);
  const FinishReason r = has_finish_ ? finish_ : FinishReason::kStop;
  if (check_json_ && r == FinishReason::kStop && !tool_seen_ && !parse_json(json_text_).ok()) {
    failed_ = true;
    failure_ = UpstreamFailure{
        make_error(Errc::kUpstreamBadResponse,
                   "The answer is not valid JSON although the request asked for a JSON schema "
                   "(JSON_SCHEMA=emulate: upstream is asked for JSON, the schema is not enforced)"),
        Verdict::kClientFault, 0, 0};
    return;
  }
  finish(r == FinishReason::kStop && tool_seen_ ? FinishReason::kToolCalls : r);
}

void AnswerRules::on_failure(const UpstreamFailure& failure) {
  if (closed()) return;
  failed_ = true;
  failure_ = failure;
}

void AnswerRules::write_error_event(const Error& error) {
  if (complete_) return;
  aborted_ = true;
  emitter_.write_error_event(error);
}

// Ends a reasoning run: its held bytes go out, and in think_tags mode "</think>" is appended to
// the text piece that follows it.
void AnswerRules::close_reasoning(std::string& text_piece) {
  if (thinking_ == ThinkingMode::kThinkTags) {
    if (!in_think_tag_) return;
    reasoning_text_.flush(text_piece);
    text_piece += kThinkClose;
    in_think_tag_ = false;
  } else if (thinking_ == ThinkingMode::kReasoningContent && reasoning_text_.held_size() > 0) {
    std::string rest;
    reasoning_text_.flush(rest);
    if (!rest.empty()) emitter_.on_reasoning(rest);
  }
}

// Releases held text into `text_piece`. true: a stop string matched, and the answer has been
// finished (text_piece delivered, cut before the match).
bool AnswerRules::flush_text(std::string& text_piece) {
  if (text_stop_.flush(text_piece) != StopScan::kMatched) return false;
  deliver_text(text_piece);
  finish(FinishReason::kStop);
  return true;
}

void AnswerRules::finish(FinishReason reason) {
  complete_ = true;
  AnswerEnd end;
  end.reason = reason;
  end.stop_sequence = text_stop_.matched_stop();
  end.usage = usage_;
  end_reason_ = reason;
  ended_by_stop_ = !end.stop_sequence.empty();
  if (Status s = emitter_.on_end(end); !s.ok()) {
    complete_ = false;
    failed_ = true;
    failure_ = UpstreamFailure{std::move(s).error(), Verdict::kTransient, 0, 0};
  }
}

}  // namespace zproxy
