#pragma once
// One upstream answer through to OpenAI bytes: the mode's decoder feeding an Emitter. Used by
// the exchange for every attempt, by the golden-fixture tests and by the Wasm fixture export,
// so all three run the very same path.

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

// Golden-fixture transcript: what a client would see from this answer alone. The emitter's
// bytes; after a failure once committed, the error event and [DONE]; after a failure before
// the commit point, "HTTP <status>\n<error json>\nverdict: <verdict>\n" instead.
std::string transcript(Translator& translator);

// Parses the fixture options JSON ({"shape","stream","include_usage","thinking","stop","model"})
// into a Translator with id "chatcmpl-fixture", created 1700000000.
Result<Translator> translator_from_fixture_options(std::string_view options_json);

}  // namespace zproxy
