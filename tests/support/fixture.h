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
// "dialect","thinking_omitted","reasoning_summary","encrypted_reasoning","tools","upstream"})
// into a Translator: dialect "chat" (the default) with id "chatcmpl-fixture", created
// 1700000000; dialect "messages" with id "msg_fixture00000000000000000", request id
// "req_fixture", an input estimate of 42;
// dialect "responses" with id "resp_fixture0000000000000000000000000", created_at 1700000000, a
// wall clock held at 1700000042000 (completed_at 1700000042), item-id seed 7, and the echo,
// tools and reasoning options parse_responses_request gives for responses_fixture_request.
// "upstream" (read by the golden test) names another fixture's recording, relative to this
// fixture's folder, so one recording serves several dialects.
Result<Translator> translator_from_fixture_options(std::string_view options_json);

// The Responses request a "dialect":"responses" fixture's options describe, as compact JSON:
// {"model":<model>,"input":"Hi"}, then "stream":true when streaming, "reasoning":{"summary":
// "auto"} for "reasoning_summary", "include":["reasoning.encrypted_content"] for
// "encrypted_reasoning", and "tools" as given. tests/wasm/fixtures.test.mjs sends the same
// request to the shipped module, so both see one echo.
std::string responses_fixture_request(std::string_view options_json);

}  // namespace zproxy
