#pragma once
// Golden fixtures (tests/fixtures/<mode>/<name>/: options.json, upstream.sse or upstream.json,
// expected.out): the translator a fixture's options describe, and the transcript a client
// would see from one upstream answer. Test and benchmark code only; nothing here ships.

#include <string>
#include <string_view>

#include "core/result.h"
#include "engine/translator.h"

namespace zproxy {

// Golden-fixture transcript: what a client would see from this answer alone. The emitter's
// bytes; after a failure once committed, the error event and [DONE]; after a failure before
// the commit point, "HTTP <status>\n<error json>\nverdict: <verdict>\n" instead.
std::string transcript(Translator& translator);

// Parses the fixture options JSON ({"shape","stream","include_usage","thinking","stop","model",
// "dialect","thinking_omitted","upstream"}) into a Translator: dialect "chat" (the default) with
// id "chatcmpl-fixture", created 1700000000; dialect "messages" with id
// "msg_fixture00000000000000000", request id "req_fixture", an input estimate of 42.
// "upstream" (read by the golden test) names another fixture's recording, relative to this
// fixture's folder, so one recording serves several dialects.
Result<Translator> translator_from_fixture_options(std::string_view options_json);

}  // namespace zproxy
