#pragma once
// API mode: Z.AI's official OpenAI-shaped API (docs/upstream.md §2).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/canonical.h"
#include "core/result.h"
#include "core/upstream.h"
#include "sse/sse_parser.h"
#include "upstream/json_event_stream.h"

namespace zproxy {
class JsonEventParser;
}

namespace zproxy::api {

// Per-mode request rules (docs/contract.md §5.2): 400 kUnsupportedValue naming the param for
// tool_choice other than auto/none, n > 1, logprobs: true, response_format json_schema.
Status check_request(const CanonicalRequest& request);

// POST {api_base}/chat/completions per docs/upstream.md §2.2 (thinking, max_completion_tokens ->
// max_tokens, tool_choice, response_format, content flattening, assistant null content, first
// stop word, request_id, user_id). stream as the client asked.
UpstreamRequest build_chat_request(const CanonicalRequest& request, const Config& config,
                                   std::string_view upstream_model, std::string_view api_key,
                                   std::string_view request_id);

// POST {api_base}/tokenizer for count_tokens (docs/upstream.md §2.5): the model (the resolved
// id when the tokenizer documents it: glm-4.5, glm-4.6, glm-4.6v; else glm-4.6), the messages
// and the tools as the chat request writes them.
UpstreamRequest build_tokenizer_request(const CanonicalRequest& request, const Config& config,
                                        std::string_view upstream_model, std::string_view api_key);
std::string_view tokenizer_model(std::string_view upstream_model);
// usage.prompt_tokens of a tokenizer answer; nullopt when there is no such number.
std::optional<int64_t> tokenizer_count(std::string_view body);

// A non-200 answer, or an error object inside a 200 stream: business code first
// (docs/upstream.md §2.4), then HTTP status. now_wall_ms turns the UTC+8 reset times of
// 1304/1308/1310 into reset_wall_ms.
UpstreamFailure classify_failure(int http_status, std::string_view body, int64_t now_wall_ms);

// Upstream SSE chunks -> semantic deltas (docs/upstream.md §2.3). Ends on "[DONE]" (or a final
// chunk with a finish_reason followed by end of stream); finish() without either is
// kUpstreamTruncated, and so is a stream cut inside a chunk (JsonEventStream: framing, cut and
// malformed events).
// finish_reason mapping: sensitive -> content_filter, model_context_window_exceeded -> length,
// network_error -> failure (kTransient).
class StreamDecoder : public JsonEventStream {
 public:
  StreamDecoder(SseLimits limits, int64_t now_wall_ms);
};

// A whole non-streaming answer (200 body) -> deltas, ending with on_end() or on_failure().
// `parser` reads it (its memory reused from one answer to the next; nothing of it is kept).
void decode_completion(std::string_view body, int64_t now_wall_ms, DeltaSink& sink,
                       JsonEventParser& parser);
void decode_completion(std::string_view body, int64_t now_wall_ms, DeltaSink& sink);

}  // namespace zproxy::api
