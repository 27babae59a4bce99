// The official API's stream (zai-upstream.md 2.3): SSE events whose data is one JSON chunk,
//   data: {"id":…,"created":…,"model":…,"choices":[{"index":0,"delta":{"role":"assistant",
//          "reasoning_content"|"content"|"tool_calls":…}[,"finish_reason":…]}][,"usage":…]}
// ending with `data: [DONE]`. Usage rides in the chunk that carries the finish_reason. A
// failure after the 200 head arrives as `data: {"error":{"code","message"}}`.
//
// End of the answer: [DONE]; or end of stream after a finish_reason was seen (the final chunk
// arrived, only the marker is missing). Anything else ending is a truncation. An event the
// stream cut (no blank line after it) is dropped unread: the stream ended with the event before.

#include <utility>

#include "upstream/zai_api/api.h"
#include "upstream/zai_api/decode.h"
#include "json/json.h"

namespace zproxy::api {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

struct StreamDecoder::Impl final : SseHandler {
  Impl(SseLimits limits, int64_t now_wall_ms) : parser(limits), wall(now_wall_ms) {}

  void on_event(const SseEvent& event) override;
  void on_chunk(const rapidjson::Value& root, std::string_view data);
  void fail(const UpstreamFailure& failure);
  void end();

  SseParser parser;
  JsonEventParser json;
  int64_t wall;
  DeltaSink* sink = nullptr;  // the sink of the feed()/finish() call in progress
  bool ended = false;         // on_end or on_failure delivered
  bool saw_finish = false;    // a finish_reason was delivered
};

void StreamDecoder::Impl::fail(const UpstreamFailure& failure) {
  if (ended) return;
  ended = true;
  sink->on_failure(failure);
}

void StreamDecoder::Impl::end() {
  if (ended) return;
  ended = true;
  sink->on_end();
}

void StreamDecoder::Impl::on_event(const SseEvent& event) {
  if (ended || event.cut) return;
  const std::string_view data = trim(event.data);
  if (data.empty()) return;
  if (data == "[DONE]") return end();
  auto doc = json.parse(data);
  if (!doc) return fail(detail::bad_response("upstream sent a malformed stream chunk"));
  if (!(*doc)->IsObject()) {
    return fail(detail::bad_response("upstream stream chunk is not an object"));
  }
  on_chunk(**doc, data);
}

void StreamDecoder::Impl::on_chunk(const rapidjson::Value& root, std::string_view data) {
  if (const rapidjson::Value* error = json_member(root, "error"); error && !error->IsNull()) {
    return fail(classify_failure(200, data, wall));
  }
  Usage usage;
  const bool has_usage = detail::read_usage(root, usage);
  if (const rapidjson::Value* choice = detail::first_choice(root)) {
    if (const rapidjson::Value* delta = json_member(*choice, "delta")) {
      detail::emit_parts(*delta, *sink);
    }
    const detail::Finish finish = detail::read_finish(*choice);
    if (finish.kind == detail::FinishKind::kNetworkError) return fail(detail::network_error());
    if (finish.kind == detail::FinishKind::kReason && !saw_finish) {
      saw_finish = true;
      sink->on_finish_reason(finish.reason);
    }
  }
  if (has_usage) sink->on_usage(usage);
}

StreamDecoder::StreamDecoder(SseLimits limits, int64_t now_wall_ms)
    : impl_(std::make_unique<Impl>(limits, now_wall_ms)) {}

StreamDecoder::~StreamDecoder() = default;
StreamDecoder::StreamDecoder(StreamDecoder&&) noexcept = default;
StreamDecoder& StreamDecoder::operator=(StreamDecoder&&) noexcept = default;

void StreamDecoder::feed(std::string_view bytes, DeltaSink& sink) {
  if (impl_ == nullptr || impl_->ended) return;
  impl_->sink = &sink;
  Status status = impl_->parser.feed(bytes, *impl_);
  if (!status) impl_->fail(UpstreamFailure{std::move(status).error(), Verdict::kTransient});
}

void StreamDecoder::finish(DeltaSink& sink) {
  if (impl_ == nullptr || impl_->ended) return;
  impl_->sink = &sink;
  Status status = impl_->parser.finish(*impl_);
  if (!status) return impl_->fail(UpstreamFailure{std::move(status).error(), Verdict::kTransient});
  if (impl_->saw_finish) return impl_->end();
  impl_->fail(UpstreamFailure{
      make_error(Errc::kUpstreamTruncated, "upstream stream ended before the answer was complete"),
      Verdict::kTransient});
}

bool StreamDecoder::ended() const {
  return impl_ == nullptr || impl_->ended;
}

}  // namespace zproxy::api
