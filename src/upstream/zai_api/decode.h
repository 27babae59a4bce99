#pragma once
// Internal to the API adapter: pieces shared by the stream decoder (chunks, `delta`) and the
// non-stream decoder (one body, `message`). Both shapes carry the same fields
// (docs/upstream.md §2.3):
//   {"choices":[{"index":0,"delta"|"message":{"role","reasoning_content","content",
//     "tool_calls":[{"index","id","type","function":{"name","arguments"}}]},
//     "finish_reason":null|"stop"|…}],
//    "usage":{"prompt_tokens","completion_tokens","total_tokens",
//             "prompt_tokens_details":{"cached_tokens"},
//             "completion_tokens_details":{"reasoning_tokens"}}}

#include <cstdint>
#include <string>

#include "core/upstream.h"
#include "json/value.h"

namespace zproxy::api::detail {

// What a choice's finish_reason says.
enum class FinishKind : uint8_t {
  kNone,          // absent, null, or not a string
  kReason,        // a reason the client sees (see Finish::reason)
  kNetworkError,  // upstream failed mid-generation: a transient upstream error
};

struct Finish {
  FinishKind kind = FinishKind::kNone;
  FinishReason reason = FinishReason::kStop;
};

// stop, length, tool_calls as named; sensitive -> content_filter;
// model_context_window_exceeded -> length; network_error -> kNetworkError; any other string
// -> stop (the answer did end, and guessing a stranger reason helps no client).
Finish read_finish(JsonValue choice);

// The choice the proxy answers with: the first object in `choices` whose `index` is 0 or
// absent. Absent when `choices` is missing, not an array, or holds no such object.
JsonValue first_choice(JsonValue root);

// Sends the non-empty reasoning_content, then content, then each tool call of a delta or
// message object to the sink. A tool call's `index` defaults to its position in the array;
// `arguments` that is not a string (some upstreams send an object) is passed as its JSON text.
void emit_parts(JsonValue part, DeltaSink& sink);

// root.usage as Usage; false when absent or not an object. Counts that are missing or not
// non-negative integers read as 0, total_tokens as prompt + completion, and cached/reasoning
// as -1 ("not reported").
// The top-level "web_search" results ({title, link, …}) as citations, when there are any.
void emit_citations(JsonValue root, DeltaSink& sink);

bool read_usage(JsonValue root, Usage& out);

// kUpstreamBadResponse, kTransient: the answer could not be understood.
UpstreamFailure bad_response(std::string message);

// finish_reason network_error: kUpstreamError, kTransient.
UpstreamFailure network_error();

}  // namespace zproxy::api::detail
