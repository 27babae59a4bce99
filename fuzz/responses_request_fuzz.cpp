// parse_responses_request on arbitrary bytes: it must never crash or assert (every type is
// checked before use), fail only with a 400 of the dialect's catalogue naming its field, and,
// when it accepts, hand the engine a consistent canonical request and an echo the emitter can
// splice into every response object.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dialect/openai_responses/responses_request.h"
#include "json/json.h"

namespace {

using namespace zproxy;

// The echo's members, in the order ResponsesRequest::echo documents.
constexpr std::string_view kEchoKeys[] = {"instructions",
                                          "max_output_tokens",
                                          "parallel_tool_calls",
                                          "reasoning",
                                          "temperature",
                                          "text",
                                          "tool_choice",
                                          "tools",
                                          "top_p",
                                          "user",
                                          "safety_identifier",
                                          "prompt_cache_key",
                                          "metadata"};

bool json_object_text(std::string_view text) {
  auto doc = parse_json(text);
  return doc.ok() && doc->is_object();
}

void check_failure(const Error& e) {
  if (errc_info(e.code).status != 400) __builtin_trap();
  switch (e.code) {
    case Errc::kInvalidJson: break;  // the body as a whole: no field to name
    case Errc::kInvalidValue:
    case Errc::kMissingRequiredParameter:
    case Errc::kUnsupportedValue:
      if (e.param.empty()) __builtin_trap();
      break;
    default: __builtin_trap();
  }
}

void check_echo(const std::string& echo) {
  auto doc = parse_json("{" + echo + "}");
  if (!doc.ok() || !doc->is_object()) __builtin_trap();
  size_t i = 0;
  for (const JsonMember m : doc->members()) {
    if (i >= std::size(kEchoKeys) || m.key != kEchoKeys[i]) __builtin_trap();
    ++i;
  }
  if (i != std::size(kEchoKeys)) __builtin_trap();
  if (!doc->member("tools").is_array() || !doc->member("reasoning").is_object()) __builtin_trap();
}

void check_request(const ResponsesRequest& req) {
  const CanonicalRequest& r = req.canonical;
  if (r.messages.empty()) __builtin_trap();
  if (r.thinking == ThinkingSwitch::kDefault) __builtin_trap();
  if (r.max_tokens.has_value() && *r.max_tokens < 0) __builtin_trap();
  if (r.tool_choice != ToolChoice::kAbsent && r.tool_choice != ToolChoice::kAuto &&
      r.tool_choice != ToolChoice::kNone)
    __builtin_trap();
  if (!r.stop.empty() || r.n != 1 || r.logprobs) __builtin_trap();
  for (const Message& m : r.messages) {
    if (m.form == ContentForm::kString && m.parts.size() != 1) __builtin_trap();
    if (m.form == ContentForm::kNone && (m.role != Role::kAssistant || !m.parts.empty()))
      __builtin_trap();
    if (m.role == Role::kTool && m.tool_call_id.empty()) __builtin_trap();
    if (m.role != Role::kAssistant && (m.reasoning || !m.tool_calls.empty())) __builtin_trap();
    for (const ToolCall& c : m.tool_calls) {
      if (c.id.empty() || c.name.empty()) __builtin_trap();
    }
  }
  // One declared tool per upstream function, named alike, with an object schema.
  if (req.tools.size() != r.tools.size()) __builtin_trap();
  for (size_t i = 0; i < r.tools.size(); ++i) {
    const ResponsesTool& rt = req.tools[i];
    if (rt.name.empty() || rt.upstream_name != r.tools[i].name) __builtin_trap();
    if (!rt.ns.empty() && rt.upstream_name != rt.ns + "__" + rt.name) __builtin_trap();
    if (!json_object_text(r.tools[i].parameters)) __builtin_trap();
  }
  for (const std::string& t : req.declined_tools) {
    if (t.empty()) __builtin_trap();
  }
  check_echo(req.echo);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto req = parse_responses_request(body);
  if (!req.ok()) {
    check_failure(req.error());
    return 0;
  }
  check_request(*req);
  return 0;
}
