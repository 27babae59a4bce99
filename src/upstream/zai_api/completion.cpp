// The official API's non-stream answer (docs/upstream.md §2.3):
//   {"id","request_id","created","model","choices":[{"index":0,"message":{"role","content",
//    "reasoning_content","tool_calls"},"finish_reason"}],"usage":{…}}
// replayed as the deltas a stream of the same answer would give.

#include "json/json.h"
#include "upstream/zai_api/api.h"
#include "upstream/zai_api/decode.h"

namespace zproxy::api {

void decode_completion(std::string_view body, int64_t now_wall_ms, DeltaSink& sink) {
  // The event parser's pool starts in one 8 KiB buffer: a short answer allocates nothing more
  // (parse_json's document takes a 64 KiB chunk, which costs more than the parse).
  JsonEventParser parser;
  auto doc = parser.parse(body);
  if (!doc) return sink.on_failure(detail::bad_response("upstream sent a malformed answer"));
  const rapidjson::Value& root = **doc;
  if (!root.IsObject()) {
    return sink.on_failure(detail::bad_response("upstream answer is not an object"));
  }
  if (const rapidjson::Value* error = json_member(root, "error"); error && !error->IsNull()) {
    return sink.on_failure(classify_failure(200, body, now_wall_ms));
  }
  const rapidjson::Value* choice = detail::first_choice(root);
  const rapidjson::Value* message = choice ? json_member(*choice, "message") : nullptr;
  if (message == nullptr || !message->IsObject()) {
    return sink.on_failure(detail::bad_response("upstream answer has no message"));
  }
  const detail::Finish finish = detail::read_finish(*choice);
  if (finish.kind == detail::FinishKind::kNetworkError) {
    return sink.on_failure(detail::network_error());
  }
  detail::emit_parts(*message, sink);
  if (Usage usage; detail::read_usage(root, usage)) sink.on_usage(usage);
  if (finish.kind == detail::FinishKind::kReason) sink.on_finish_reason(finish.reason);
  sink.on_end();
}

}  // namespace zproxy::api
