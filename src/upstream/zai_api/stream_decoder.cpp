// The official API's stream (docs/upstream.md §2.3): SSE events whose data is one JSON chunk,
//   data: {"id":…,"created":…,"model":…,"choices":[{"index":0,"delta":{"role":"assistant",
//          "reasoning_content"|"content"|"tool_calls":…}[,"finish_reason":…]}][,"usage":…]}
// ending with `data: [DONE]`. Usage rides in the chunk that carries the finish_reason. A
// failure after the 200 head arrives as `data: {"error":{"code","message"}}`.
//
// End of the answer: [DONE]; or end of stream after a finish_reason was seen (the final chunk
// arrived, only the marker is missing). Anything else ending is a truncation. SSE framing,
// [DONE], cut events and the end bookkeeping are the shared JsonEventStream's.

#include <memory>

#include "json/json.h"
#include "upstream/zai_api/api.h"
#include "upstream/zai_api/decode.h"

namespace zproxy::api {
namespace {

class ApiEvents final : public JsonEvents {
 public:
  explicit ApiEvents(int64_t now_wall_ms) : wall_(now_wall_ms) {}

  EventOutcome on_event(JsonValue root, std::string_view text, DeltaSink& sink) override;
  EventOutcome at_stream_end() override {
    if (saw_finish_) return EventOutcome::end();
    return EventOutcome::truncated("upstream stream ended before the answer was complete");
  }

 private:
  int64_t wall_;
  bool saw_finish_ = false;  // a finish_reason was delivered
};

EventOutcome ApiEvents::on_event(JsonValue root, std::string_view text, DeltaSink& sink) {
  if (const JsonValue error = root.member("error"); error && !error.is_null()) {
    return EventOutcome::fail(classify_failure(200, text, wall_));
  }
  detail::emit_citations(root, sink);
  Usage usage;
  const bool has_usage = detail::read_usage(root, usage);
  if (const JsonValue choice = detail::first_choice(root)) {
    detail::emit_parts(choice.member("delta"), sink);
    const detail::Finish finish = detail::read_finish(choice);
    if (finish.kind == detail::FinishKind::kNetworkError) {
      return EventOutcome::fail(detail::network_error());
    }
    if (finish.kind == detail::FinishKind::kReason && !saw_finish_) {
      saw_finish_ = true;
      sink.on_finish_reason(finish.reason);
    }
  }
  if (has_usage) sink.on_usage(usage);
  return EventOutcome::more();
}

}  // namespace

StreamDecoder::StreamDecoder(SseLimits limits, int64_t now_wall_ms)
    : JsonEventStream(limits, std::make_unique<ApiEvents>(now_wall_ms)) {}

}  // namespace zproxy::api
