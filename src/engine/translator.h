#pragma once
// One upstream answer through to a client dialect's bytes: the mode's decoder feeding the
// shared answer rules (AnswerRules: stop strings, thinking mode, finish reason), which feed the
// dialect's emitter. Used by the exchange for every attempt and by the golden-fixture tests
// (tests/support/fixture.h), so both run the very same path.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"
#include "core/answer.h"
#include "engine/answer_rules.h"
#include "upstream/guest/guest.h"
#include "upstream/zai_api/api.h"

namespace zproxy {

// The client dialect an answer is written in; it also decides the shape of errors.
enum class Dialect : uint8_t { kChat, kMessages, kResponses };

// An error answer before the commit point, in the dialect's shape: status and body.
struct ErrorAnswer {
  int status = 500;
  std::string body;
};
ErrorAnswer error_answer(Dialect dialect, const Error& error, std::string_view request_id);

enum class UpstreamShape : uint8_t {
  kGuestStream,  // web-chat SSE
  kApiStream,    // official API SSE
  kApiBody,      // official API non-streaming JSON body
};

class Translator {
 public:
  // `body_parser` (kApiBody; borrowed, must outlive finish()) reads the answer, or null: a
  // parser of its own for the one call.
  Translator(UpstreamShape shape, Dialect dialect, std::unique_ptr<AnswerEmitter> emitter,
             ThinkingMode thinking, const std::vector<std::string>& stop, SseLimits limits,
             int64_t wall, JsonEventParser* body_parser = nullptr);

  void feed(std::string_view bytes);
  void finish();       // upstream body ended
  bool ended() const;  // the decoder delivered on_end or on_failure

  // The emitter's commit point (AnswerEmitter::committed).
  bool committed() const { return emitter_->committed(); }
  bool complete() const { return rules_.complete(); }
  bool failed() const { return rules_.failed(); }
  const UpstreamFailure& failure() const { return rules_.failure(); }
  // Once complete: the finish in the dialect's words (chat finish_reason, Messages stop_reason).
  std::string_view end_reason() const;
  const Usage& usage() const { return rules_.usage(); }
  // Streaming, once committed: the dialect's error event; later deltas are ignored.
  void write_error_event(const Error& error) { rules_.write_error_event(error); }
  // Streaming: the dialect's keep-alive.
  void write_keepalive() { emitter_->write_keepalive(); }
  // JSON_SCHEMA=emulate: the answer must be JSON (AnswerRules::check_json).
  void check_json() { rules_.check_json(); }
  std::string take_output() { return emitter_->take_output(); }
  AnswerEmitter& emitter() { return *emitter_; }
  Dialect dialect() const { return dialect_; }

 private:
  Dialect dialect_;
  std::unique_ptr<AnswerEmitter> emitter_;  // on the heap: rules_ refers to it across moves
  AnswerRules rules_;
  std::variant<std::monostate, guest::StreamDecoder, api::StreamDecoder> decoder_;
  std::string body_;  // kApiBody: the body collected until finish()
  JsonEventParser* body_parser_;
  int64_t wall_;
  bool body_done_ = false;
};

}  // namespace zproxy
