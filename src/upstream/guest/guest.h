#pragma once
// Guest mode: the chat.z.ai web-chat protocol (docs/upstream.md §1), as pure
// functions and one incremental decoder. Every URL, path and header value comes from Config.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/canonical.h"
#include "core/result.h"
#include "core/upstream.h"
#include "sse/sse_parser.h"
#include "upstream/json_event_stream.h"

namespace zproxy::guest {

// GET {base}{auth_path} with the protocol headers (docs/upstream.md §1.1), no Authorization.
UpstreamRequest build_token_request(const Config& config);

// The anonymous token from the auth answer. Failures (the pool backs off on each):
// 405 or an HTML page -> kUpstreamRejected ("firewall"); other non-200, non-JSON, or no
// non-empty string `token` -> kUpstreamBadResponse. Messages never quote raw upstream HTML.
Result<std::string> parse_token_response(int status, std::string_view body);

// Per-mode request rules (docs/contract.md §5.2): 400 kUnsupportedValue naming the param for
// tools/tool_choice, image parts, n > 1, logprobs: true, response_format other than text.
Status check_request(const CanonicalRequest& request);

struct ChatIds {
  std::string chat_id;     // uuid4
  std::string message_id;  // uuid4
};

// POST {base}{chat_path} per docs/upstream.md §1.3: always stream:true upstream; model is the
// upstream id; temperature/top_p/max_tokens into params; features.enable_thinking from the
// thinking switch (on unless disabled); messages carried faithfully (string or text parts);
// variables with {{CURRENT_DATETIME}} formatted from now_wall_ms (UTC, "YYYY-MM-DD HH:MM:SS").
UpstreamRequest build_chat_request(const CanonicalRequest& request, const Config& config,
                                   std::string_view upstream_model, std::string_view token,
                                   const ChatIds& ids, int64_t now_wall_ms);

// A non-200 answer to the chat request (docs/upstream.md §1.6): 401 -> kDead; 429 -> kCooldown;
// 405/HTML -> kUpstreamWide kUpstreamRejected (firewall); 400 with "Signature" -> kUpstreamWide
// kUpstreamRejected (signature); 5xx -> kTransient kUpstreamError; others classified by body.
UpstreamFailure classify_http_failure(int status, std::string_view body);

// Default cap of the decoder's message buffer M (bytes): far above any real answer (a
// 128K-token answer is about 1 MiB), and small enough that the buffer and its growth fit in
// the Worker's 96 MiB of Wasm memory beside other streams.
inline constexpr size_t kDefaultMaxMessageBytes = size_t{16} << 20;

// Upstream stream -> semantic deltas (docs/upstream.md §1.4, §1.5), incrementally and for any
// slicing of the bytes. Maintains the message buffer M (delta_content appends;
// edit_index/edit_content replace from a code-point offset) and emits only what is new:
// reasoning from <details type="reasoning"> blocks (wrapper, <summary> and the "> " line
// prefixes removed), content outside them, never <glm_block> islands. Error frames become
// on_failure with a classified UpstreamFailure.
// The answer ends on `done: true`, phase "done" or "[DONE]"; finish() without one of them
// reports kUpstreamTruncated, and so does a stream cut inside an event (JsonEventStream:
// framing, cut and malformed events).
// The message buffer M is capped at max_message_bytes: beyond it the stream fails with
// kUpstreamBadResponse, so memory stays bounded whatever upstream sends.
class StreamDecoder : public JsonEventStream {
 public:
  explicit StreamDecoder(SseLimits limits = {}, size_t max_message_bytes = kDefaultMaxMessageBytes);
};

}  // namespace zproxy::guest
