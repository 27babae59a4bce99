#pragma once
// The Messages dialect's parser: an Anthropic Messages request body, validated and translated
// to the canonical request (src/core/canonical.h), per docs/contract.md §12.4.
// Mode-independent: what one upstream mode cannot serve (guest tools, images) is refused by
// that upstream's adapter, as for chat.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/canonical.h"
#include "core/result.h"

namespace zproxy {

enum class MessagesRoute : uint8_t {
  kCreate,       // POST /v1/messages: max_tokens is required
  kCountTokens,  // POST /v1/messages/count_tokens: max_tokens and stream are not needed
};

struct MessagesRequest {
  CanonicalRequest canonical;
  bool thinking_text = true;   // false for thinking.display "omitted": blocks without text
  int64_t input_estimate = 0;  // the estimate E = ⌈C/3⌉ + 4·M + 1600·I (contract.md §12.7)
};

// Every error is a 400 (kInvalidJson, kMissingRequiredParameter, kInvalidValue or
// kUnsupportedValue) whose `param` is the Anthropic-style path ("messages.2.content.0.source")
// and whose message starts with that path and ": ". Unknown fields, cache_control anywhere,
// context_management, service_tier, inference_geo and anthropic metadata other than user_id
// are ignored.
//
// Translation (§12.4): `system` (string or text blocks, the Claude Code billing line
// dropped) becomes one leading system message joined with "\n\n"; a message's tool_result
// blocks become tool messages in block order before the rest of that turn, their images one
// user message right after each; tool_use inputs become compact JSON arguments; thinking
// blocks become the assistant's reasoning (signature ignored); redacted_thinking is dropped.
// Thinking absent or disabled is ThinkingSwitch::kDisabled (Anthropic's default);
// output_config.effort is the reasoning effort. max_tokens 0 is accepted: the route answers
// it without an upstream call.
Result<MessagesRequest> parse_messages_request(std::string_view body, MessagesRoute route);

}  // namespace zproxy
