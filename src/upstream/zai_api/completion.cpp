// The official API's non-stream answer (docs/upstream.md §2.3):
//   {"id","request_id","created","model","choices":[{"index":0,"message":{"role","content",
//    "reasoning_content","tool_calls"},"finish_reason"}],"usage":{…}}
// replayed as the deltas a stream of the same answer would give.

#include "json/json.h"
#include "upstream/zai_api/api.h"
#include "upstream/zai_api/decode.h"

namespace zproxy::api {

void decode_completion(std::string_view body, int64_t now_wall_ms, DeltaSink& sink) {
  // The event parser's pool starts in one 8 KiB buffer and its strings point into `body`: a
  // short answer allocates nothing more.
  JsonEventParser parser;
  decode_completion(body, now_wall_ms, sink, parser);
}

void decode_completion(std::string_view body, int64_t now_wall_ms, DeltaSink& sink,
                       JsonEventParser& parser) {
  auto doc = parser.parse(body);
  if (!doc) return sink.on_failure(detail::bad_response("upstream sent a malformed answer"));
  const JsonValue root = *doc;
  if (!root.is_object()) {
    return sink.on_failure(detail::bad_response("upstream answer is not an object"));
  }
  if (const JsonValue error = root.member("error"); error && !error.is_null()) {
    return sink.on_failure(classify_failure(200, body, now_wall_ms));
  }
  const JsonValue choice = detail::first_choice(root);
  const JsonValue message = choice.member("message");
  if (!message.is_object()) {
    return sink.on_failure(detail::bad_response("upstream answer has no message"));
  }
  const detail::Finish finish = detail::read_finish(choice);
  if (finish.kind == detail::FinishKind::kNetworkError) {
    return sink.on_failure(detail::network_error());
  }
  detail::emit_citations(root, sink);
  detail::emit_parts(message, sink);
  if (Usage usage; detail::read_usage(root, usage)) sink.on_usage(usage);
  if (finish.kind == detail::FinishKind::kReason) sink.on_finish_reason(finish.reason);
  sink.on_end();
}

}  // namespace zproxy::api
