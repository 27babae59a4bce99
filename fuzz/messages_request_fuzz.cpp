// parse_messages_request on arbitrary bytes, for both routes: it must never crash or assert
// (every type is checked before use), fail only with a 400 naming its path first, and keep
// the documented invariants when it accepts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dialect/anthropic_messages/messages_request.h"

namespace {

void check(std::string_view body, zproxy::MessagesRoute route) {
  auto req = zproxy::parse_messages_request(body, route);
  if (!req.ok()) {
    const zproxy::Error& e = req.error();
    if (zproxy::errc_info(e.code).status != 400) __builtin_trap();
    if (!e.param.empty() && e.message.rfind(e.param + ": ", 0) != 0) __builtin_trap();
    return;
  }
  const zproxy::CanonicalRequest& r = req->canonical;
  if (route == zproxy::MessagesRoute::kCreate && !r.max_tokens.has_value()) __builtin_trap();
  if (r.max_tokens.has_value() && *r.max_tokens < 0) __builtin_trap();
  if (r.stop.size() > 4) __builtin_trap();
  for (const auto& s : r.stop) {
    if (s.empty()) __builtin_trap();
  }
  if (r.messages.empty() || r.model.empty()) __builtin_trap();
  if (r.thinking == zproxy::ThinkingSwitch::kDefault) __builtin_trap();
  if (req->input_estimate < 4) __builtin_trap();  // at least one message entry
  for (const auto& m : r.messages) {
    if (m.form == zproxy::ContentForm::kString && m.parts.size() != 1) __builtin_trap();
    if (m.role == zproxy::Role::kTool && m.tool_call_id.empty() && m.parts.size() != 1)
      __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  check(body, zproxy::MessagesRoute::kCreate);
  check(body, zproxy::MessagesRoute::kCountTokens);
  return 0;
}
