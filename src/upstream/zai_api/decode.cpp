#include "upstream/zai_api/decode.h"

#include <climits>
#include <optional>
#include <string_view>
#include <vector>

#include "json/json.h"

namespace zproxy::api::detail {
namespace {

// A non-negative integer count, else `fallback`.
int64_t count_of(JsonValue obj, std::string_view key, int64_t fallback) {
  const std::optional<int64_t> n = obj.member(key).int64();
  return n && *n >= 0 ? *n : fallback;
}

// Calls sink.on_tool_call for one element of tool_calls; non-objects are skipped.
void emit_tool_call(JsonValue call, int position, DeltaSink& sink) {
  if (!call.is_object()) return;
  ToolCallDelta delta;
  const std::optional<int64_t> index = call.member("index").int64();
  delta.index = index && *index >= 0 && *index <= INT_MAX ? static_cast<int>(*index) : position;
  delta.id = call.member("id").string();
  delta.type = call.member("type").string();
  std::string dumped;  // keeps non-string arguments alive during the call
  if (const JsonValue fn = call.member("function"); fn.is_object()) {
    delta.name = fn.member("name").string();
    if (const JsonValue args = fn.member("arguments")) {
      if (args.is_string()) {
        delta.arguments = args.string();
      } else if (!args.is_null()) {
        dumped = json_dump(args);
        delta.arguments = dumped;
      }
    }
  }
  sink.on_tool_call(delta);
}

}  // namespace

Finish read_finish(JsonValue choice) {
  const JsonValue v = choice.member("finish_reason");
  if (!v.is_string()) return {};
  const std::string_view s = v.string();
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

JsonValue first_choice(JsonValue root) {
  for (const JsonValue choice : root.member("choices").elements()) {
    if (!choice.is_object()) continue;
    const JsonValue index = choice.member("index");
    if (!index || index.int64() == 0) return choice;
  }
  return {};
}

void emit_parts(JsonValue part, DeltaSink& sink) {
  if (!part.is_object()) return;
  const std::string_view reasoning = part.member("reasoning_content").string();
  if (!reasoning.empty()) sink.on_reasoning(reasoning);
  const std::string_view content = part.member("content").string();
  if (!content.empty()) sink.on_content(content);
  int position = 0;
  for (const JsonValue call : part.member("tool_calls").elements()) {
    emit_tool_call(call, position++, sink);
  }
}

void emit_citations(JsonValue root, DeltaSink& sink) {
  const JsonValue results = root.member("web_search");
  if (!results.is_array() || results.size() == 0) return;
  std::vector<Citation> citations;
  for (const JsonValue r : results.elements()) {
    const std::string_view link = r.member("link").string();
    if (!link.empty()) citations.push_back(Citation{link, r.member("title").string()});
  }
  if (!citations.empty()) sink.on_citations(citations);
}

bool read_usage(JsonValue root, Usage& out) {
  const JsonValue usage = root.member("usage");
  if (!usage.is_object()) return false;
  out = Usage{};
  out.prompt_tokens = count_of(usage, "prompt_tokens", 0);
  out.completion_tokens = count_of(usage, "completion_tokens", 0);
  out.total_tokens = count_of(usage, "total_tokens", out.prompt_tokens + out.completion_tokens);
  out.cached_tokens = count_of(usage.member("prompt_tokens_details"), "cached_tokens", -1);
  out.reasoning_tokens =
      count_of(usage.member("completion_tokens_details"), "reasoning_tokens", -1);
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
