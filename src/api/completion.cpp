// The official API's non-stream answer (zai-upstream.md 2.3):
//   {"id","request_id","created","model","choices":[{"index":0,"message":{"role","content",
//    "reasoning_content","tool_calls"},"finish_reason"}],"usage":{…}}
// replayed as the deltas a stream of the same answer would give.

#include "api/api.h"
#include "api/decode.h"
#include "json/json.h"

namespace zproxy::api {

void decode_completion(std::string_view body, int64_t now_wall_ms, DeltaSink& sink) {
  auto doc = parse_json(body);
  if (!doc) return sink.on_failure(detail::bad_response("upstream sent a malformed answer"));
  if (!doc->IsObject()) {
    return sink.on_failure(detail::bad_response("upstream answer is not an object"));
  }
  if (const rapidjson::Value* error = json_member(*doc, "error"); error && !error->IsNull()) {
    return sink.on_failure(classify_failure(200, body, now_wall_ms));
  }
  const rapidjson::Value* choice = detail::first_choice(*doc);
  const rapidjson::Value* message = choice ? json_member(*choice, "message") : nullptr;
  if (message == nullptr || !message->IsObject()) {
    return sink.on_failure(detail::bad_response("upstream answer has no message"));
  }
  const detail::Finish finish = detail::read_finish(*choice);
  if (finish.kind == detail::FinishKind::kNetworkError) {
    return sink.on_failure(detail::network_error());
  }
  detail::emit_parts(*message, sink);
  if (Usage usage; detail::read_usage(*doc, usage)) sink.on_usage(usage);
  if (finish.kind == detail::FinishKind::kReason) sink.on_finish_reason(finish.reason);
  sink.on_end();
}

}  // namespace zproxy::api
