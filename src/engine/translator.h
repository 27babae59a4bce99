#pragma once
// One upstream answer through to OpenAI bytes: the mode's decoder feeding an Emitter. Used by
// the exchange for every attempt and by the golden-fixture tests (tests/support/fixture.h), so
// both run the very same path.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "upstream/zai_api/api.h"
#include "config/config.h"
#include "upstream/guest/guest.h"
#include "dialect/openai_chat/emitter.h"

namespace zproxy {

enum class UpstreamShape : uint8_t {
  kGuestStream,  // web-chat SSE
  kApiStream,    // official API SSE
  kApiBody,      // official API non-streaming JSON body
};

class Translator {
 public:
  Translator(UpstreamShape shape, EmitterOptions options, SseLimits limits, int64_t wall);

  void feed(std::string_view bytes);
  void finish();  // upstream body ended
  Emitter& emitter() { return emitter_; }
  const Emitter& emitter() const { return emitter_; }
  bool ended() const;  // the decoder delivered on_end or on_failure

 private:
  Emitter emitter_;
  std::variant<std::monostate, guest::StreamDecoder, api::StreamDecoder> decoder_;
  std::string body_;  // kApiBody: the body collected until finish()
  int64_t wall_;
  bool body_done_ = false;
};

}  // namespace zproxy
