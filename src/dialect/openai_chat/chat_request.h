#pragma once
// The chat dialect's parser: an OpenAI Chat Completions request body, validated and translated
// to the canonical request (src/core/canonical.h). Mode-independent: the per-mode rules
// (docs/contract.md §5.2) are checked by each upstream adapter.

#include <string_view>

#include "core/canonical.h"
#include "core/result.h"

namespace zproxy {

// Errors are 400s naming the param, e.g. kMissingRequiredParameter "model",
// kInvalidValue "messages[2].role", kInvalidValue "temperature", kInvalidJson for bad JSON or
// a body that is not an object. Unknown fields are tolerated.
//
// Translation: a string `content` is ContentForm::kString, an array kParts, null or absent
// kNone; `max_completion_tokens` wins over `max_tokens`; `thinking.type` decides over
// `reasoning_effort` (none/minimal -> kDisabled, other efforts -> kEnabled); a non-string
// `reasoning_content` is ignored; tool parameters are kept as compact JSON text.
Result<CanonicalRequest> parse_chat_request(std::string_view body);

}  // namespace zproxy
