#include "upstream/json_event_stream.h"

#include <utility>

#include "json/json.h"

namespace zproxy {
namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

}  // namespace

EventOutcome EventOutcome::bad_response(std::string message) {
  return fail({.error = make_error(Errc::kUpstreamBadResponse, std::move(message)),
               .verdict = Verdict::kTransient});
}

EventOutcome EventOutcome::truncated(std::string message) {
  return fail({.error = make_error(Errc::kUpstreamTruncated, std::move(message)),
               .verdict = Verdict::kTransient});
}

struct JsonEventStream::Impl final : SseHandler {
  Impl(SseLimits limits, std::unique_ptr<JsonEvents> mode)
      : parser(limits), events(std::move(mode)) {}

  void on_event(const SseEvent& event) override;
  void take(EventOutcome outcome);

  SseParser parser;
  JsonEventParser json;
  std::unique_ptr<JsonEvents> events;
  DeltaSink* sink = nullptr;  // during feed() / finish() only
  bool ended = false;
};

void JsonEventStream::Impl::on_event(const SseEvent& event) {
  if (ended || event.cut) return;
  const std::string_view data = trim(event.data);
  if (data.empty()) return;
  if (data == "[DONE]") return take(EventOutcome::end());
  auto doc = json.parse(data);
  if (!doc.ok() || !doc->is_object()) {
    return take(EventOutcome::bad_response("upstream sent an event that is not a JSON object"));
  }
  take(events->on_event(*doc, data, *sink));
}

void JsonEventStream::Impl::take(EventOutcome outcome) {
  switch (outcome.step) {
    case EventStep::kMore: return;
    case EventStep::kEnd:
      ended = true;
      events->on_answer_end(*sink);
      return sink->on_end();
    case EventStep::kFailure: ended = true; return sink->on_failure(outcome.failure);
  }
}

JsonEventStream::JsonEventStream(SseLimits limits, std::unique_ptr<JsonEvents> events)
    : impl_(std::make_unique<Impl>(limits, std::move(events))) {}

JsonEventStream::~JsonEventStream() = default;
JsonEventStream::JsonEventStream(JsonEventStream&&) noexcept = default;
JsonEventStream& JsonEventStream::operator=(JsonEventStream&&) noexcept = default;

void JsonEventStream::feed(std::string_view bytes, DeltaSink& sink) {
  if (ended()) return;
  impl_->sink = &sink;
  Status status = impl_->parser.feed(bytes, *impl_);
  if (!status.ok() && !impl_->ended) {
    impl_->take(EventOutcome::fail({.error = std::move(status).error()}));
  }
  impl_->sink = nullptr;
}

void JsonEventStream::finish(DeltaSink& sink) {
  if (ended()) return;
  impl_->sink = &sink;
  Status status = impl_->parser.finish(*impl_);
  if (!impl_->ended) {
    impl_->take(status.ok() ? impl_->events->at_stream_end()
                            : EventOutcome::fail({.error = std::move(status).error()}));
  }
  impl_->sink = nullptr;
}

bool JsonEventStream::ended() const {
  return impl_ == nullptr || impl_->ended;
}

}  // namespace zproxy
