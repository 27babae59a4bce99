#pragma once
// Parsing and validation of an OpenAI Chat Completions request body. Mode-independent: the
// per-mode rules (docs/contract.md §5.2) are checked by each upstream adapter.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "core/result.h"

namespace zproxy {

enum class ThinkingSwitch : uint8_t { kDefault, kEnabled, kDisabled };

struct ChatRequest {
  // The body's text, which the document's strings point into (parsed in place).
  std::unique_ptr<char[]> text;
  size_t text_bytes = 0;  // its length: a size hint for the upstream body built from it
  std::unique_ptr<rapidjson::MemoryPoolAllocator<>> pool;  // doc's values (outlives doc)
  // The whole parsed body. `messages` (and `tools`, `tool_choice`, `response_format`) are read
  // from here by the adapters; parse_chat_request has validated their shape.
  rapidjson::Document doc;

  std::string model;
  bool stream = false;
  bool include_usage = false;       // stream_options.include_usage
  std::vector<std::string> stop;    // 0..4 non-empty strings
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> max_tokens;  // max_completion_tokens, else max_tokens
  std::string reasoning_effort;       // as sent, empty when absent
  // thinking.type ("enabled"/"disabled") wins; else reasoning_effort none/minimal -> kDisabled.
  ThinkingSwitch thinking = ThinkingSwitch::kDefault;
  bool thinking_explicit = false;  // a `thinking` object was sent
  std::string user;
  bool has_tools = false;           // non-empty `tools`
  std::string tool_choice;          // "" absent, "auto" | "none" | "required" | "function"
  bool has_image_parts = false;     // any image_url content part in any message
  int64_t n = 1;
  bool logprobs = false;
  std::string response_format;      // "" absent, else its `type`
};

// Errors are 400s naming the param, e.g. kMissingRequiredParameter "model",
// kInvalidValue "messages[2].role", kInvalidValue "temperature", kInvalidJson for bad JSON or
// a body that is not an object. Unknown fields are tolerated.
Result<ChatRequest> parse_chat_request(std::string_view body);

}  // namespace zproxy
