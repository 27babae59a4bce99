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

// Parses the fixture options JSON ({"shape","stream","include_usage","thinking","stop","model"})
// into a Translator with id "chatcmpl-fixture", created 1700000000.
Result<Translator> translator_from_fixture_options(std::string_view options_json);

}  // namespace zproxy
