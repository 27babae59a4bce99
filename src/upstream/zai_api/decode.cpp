#include "upstream/zai_api/decode.h"

#include <string_view>

#include "json/json.h"

namespace zproxy::api::detail {
namespace {

// A non-negative integer count, else `fallback`.
int64_t count_of(const rapidjson::Value* obj, std::string_view key, int64_t fallback) {
  if (obj == nullptr) return fallback;
  const rapidjson::Value* v = json_member(*obj, key);
  if (v == nullptr || !v->IsInt64() || v->GetInt64() < 0) return fallback;
  return v->GetInt64();
}

// Calls sink.on_tool_call for one element of tool_calls; non-objects are skipped.
void emit_tool_call(const rapidjson::Value& call, int position, DeltaSink& sink) {
  if (!call.IsObject()) return;
  ToolCallDelta delta;
  const rapidjson::Value* index = json_member(call, "index");
  delta.index =
      (index != nullptr && index->IsInt() && index->GetInt() >= 0) ? index->GetInt() : position;
  delta.id = json_string(call, "id");
  delta.type = json_string(call, "type");
  std::string dumped;  // keeps non-string arguments alive during the call
  if (const rapidjson::Value* fn = json_member(call, "function"); fn && fn->IsObject()) {
    delta.name = json_string(*fn, "name");
    if (const rapidjson::Value* args = json_member(*fn, "arguments"); args != nullptr) {
      if (args->IsString()) {
        delta.arguments = as_view(*args);
      } else if (!args->IsNull()) {
        dumped = json_dump(*args);
        delta.arguments = dumped;
      }
    }
  }
  sink.on_tool_call(delta);
}

}  // namespace

Finish read_finish(const rapidjson::Value& choice) {
  const rapidjson::Value* v = json_member(choice, "finish_reason");
  if (!json_is_string(v)) return {};
  const std::string_view s = as_view(*v);
  if (s == "network_error") return {FinishKind::kNetworkError, FinishReason::kStop};
  FinishReason reason = FinishReason::kStop;
  if (s == "length" || s == "model_context_window_exceeded") {
    reason = FinishReason::kLength;
  } else if (s == "tool_calls") {
    reason = FinishReason::kToolCalls;
  } else if (s == "sensitive" || s == "content_filter") {
    reason = FinishReason::kContentFilter;
  }
  return {FinishKind::kReason, reason};
}

const rapidjson::Value* first_choice(const rapidjson::Value& root) {
  const rapidjson::Value* choices = json_member(root, "choices");
  if (choices == nullptr || !choices->IsArray()) return nullptr;
  for (const auto& choice : choices->GetArray()) {
    if (!choice.IsObject()) continue;
    const rapidjson::Value* index = json_member(choice, "index");
    if (index == nullptr || (index->IsInt() && index->GetInt() == 0)) return &choice;
  }
  return nullptr;
}

void emit_parts(const rapidjson::Value& part, DeltaSink& sink) {
  if (!part.IsObject()) return;
  const std::string_view reasoning = json_string(part, "reasoning_content");
  if (!reasoning.empty()) sink.on_reasoning(reasoning);
  const std::string_view content = json_string(part, "content");
  if (!content.empty()) sink.on_content(content);
  const rapidjson::Value* calls = json_member(part, "tool_calls");
  if (calls == nullptr || !calls->IsArray()) return;
  int position = 0;
  for (const auto& call : calls->GetArray()) emit_tool_call(call, position++, sink);
}

bool read_usage(const rapidjson::Value& root, Usage& out) {
  const rapidjson::Value* usage = json_member(root, "usage");
  if (usage == nullptr || !usage->IsObject()) return false;
  out = Usage{};
  out.prompt_tokens = count_of(usage, "prompt_tokens", 0);
  out.completion_tokens = count_of(usage, "completion_tokens", 0);
  out.total_tokens = count_of(usage, "total_tokens", out.prompt_tokens + out.completion_tokens);
  const rapidjson::Value* prompt = json_member(*usage, "prompt_tokens_details");
  out.cached_tokens = count_of(prompt, "cached_tokens", -1);
  const rapidjson::Value* completion = json_member(*usage, "completion_tokens_details");
  out.reasoning_tokens = count_of(completion, "reasoning_tokens", -1);
  return true;
}

UpstreamFailure bad_response(std::string message) {
  UpstreamFailure f;
  f.error = make_error(Errc::kUpstreamBadResponse, std::move(message));
  f.verdict = Verdict::kTransient;
  return f;
}

UpstreamFailure network_error() {
  UpstreamFailure f;
  f.error = make_error(Errc::kUpstreamError, "upstream reported a network error during generation");
  f.verdict = Verdict::kTransient;
  return f;
}

}  // namespace zproxy::api::detail
