// parse_chat_request on arbitrary bytes: it must never crash or assert (every type is checked
// before use), fail only with a 400, and keep the documented invariants when it accepts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dialect/openai_chat/chat_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto req = zproxy::parse_chat_request(body);
  if (!req.ok()) {
    if (zproxy::errc_info(req.error().code).status != 400) __builtin_trap();
    return 0;
  }
  if (req->stop.size() > 4) __builtin_trap();
  for (const auto& s : req->stop) {
    if (s.empty()) __builtin_trap();
  }
  if (req->messages.empty()) __builtin_trap();
  for (const auto& m : req->messages) {
    // A string content is exactly one text part; no content only for assistants.
    if (m.form == zproxy::ContentForm::kString && m.parts.size() != 1) __builtin_trap();
    if (m.form == zproxy::ContentForm::kNone && m.role != zproxy::Role::kAssistant)
      __builtin_trap();
  }
  return 0;
}
