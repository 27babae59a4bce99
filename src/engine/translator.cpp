#include "engine/translator.h"

#include "dialect/anthropic_messages/emitter.h"

namespace zproxy {

ErrorAnswer error_answer(Dialect dialect, const Error& error, std::string_view request_id) {
  if (dialect == Dialect::kMessages) {
    return {messages_error_status(error), messages_error_json(error, request_id)};
  }
  if (dialect == Dialect::kResponses && error.param == "messages") {
    // Upstream names the conversation "messages"; a Responses client knows it as "input".
    Error renamed = error;
    renamed.param = "input";
    return {errc_info(error.code).status, error_json(renamed)};
  }
  return {errc_info(error.code).status, error_json(error)};
}

std::string_view Translator::end_reason() const {
  const bool messages = dialect_ == Dialect::kMessages;
  switch (rules_.end_reason()) {
    case FinishReason::kStop:
      if (!messages) return "stop";
      return rules_.ended_by_stop_string() ? "stop_sequence" : "end_turn";
    case FinishReason::kLength: return messages ? "max_tokens" : "length";
    case FinishReason::kToolCalls: return messages ? "tool_use" : "tool_calls";
    case FinishReason::kContentFilter: return messages ? "refusal" : "content_filter";
  }
  return "";
}

Translator::Translator(UpstreamShape shape, Dialect dialect, std::unique_ptr<AnswerEmitter> emitter,
                       ThinkingMode thinking, const std::vector<std::string>& stop,
                       SseLimits limits, int64_t wall, JsonEventParser* body_parser)
    : dialect_(dialect),
      emitter_(std::move(emitter)),
      rules_(*emitter_, thinking, stop),
      body_parser_(body_parser),
      wall_(wall) {
  switch (shape) {
    case UpstreamShape::kGuestStream: decoder_.emplace<guest::StreamDecoder>(limits); break;
    case UpstreamShape::kApiStream: decoder_.emplace<api::StreamDecoder>(limits, wall); break;
    case UpstreamShape::kApiBody: break;
  }
}

void Translator::feed(std::string_view bytes) {
  if (auto* g = std::get_if<guest::StreamDecoder>(&decoder_)) {
    g->feed(bytes, rules_);
  } else if (auto* a = std::get_if<api::StreamDecoder>(&decoder_)) {
    a->feed(bytes, rules_);
  } else if (!body_done_) {
    body_.append(bytes);
  }
}

void Translator::finish() {
  if (auto* g = std::get_if<guest::StreamDecoder>(&decoder_)) {
    g->finish(rules_);
  } else if (auto* a = std::get_if<api::StreamDecoder>(&decoder_)) {
    a->finish(rules_);
  } else if (!body_done_) {
    body_done_ = true;
    if (body_parser_ != nullptr) {
      api::decode_completion(body_, wall_, rules_, *body_parser_);
    } else {
      api::decode_completion(body_, wall_, rules_);
    }
    body_.clear();
    body_.shrink_to_fit();
  }
}

bool Translator::ended() const {
  if (auto* g = std::get_if<guest::StreamDecoder>(&decoder_)) return g->ended();
  if (auto* a = std::get_if<api::StreamDecoder>(&decoder_)) return a->ended();
  return body_done_;
}

}  // namespace zproxy
