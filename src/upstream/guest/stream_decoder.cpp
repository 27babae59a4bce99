// Guest upstream stream -> semantic deltas (docs/upstream.md §1.4):
//   bytes -> SSE events -> one JSON document each (the shared JsonEventStream) -> envelope ->
//   message buffer M -> splitter.
#include <memory>
#include <utility>

#include "json/json.h"
#include "upstream/guest/classify.h"
#include "upstream/guest/guest.h"
#include "upstream/guest/message_buffer.h"
#include "upstream/guest/reasoning_splitter.h"

namespace zproxy::guest {
namespace {

int64_t int_member(JsonValue obj, std::string_view key, int64_t fallback) {
  return obj.member(key).int64().value_or(fallback);
}

Usage read_usage(JsonValue usage) {
  Usage u;
  u.prompt_tokens = int_member(usage, "prompt_tokens", 0);
  u.completion_tokens = int_member(usage, "completion_tokens", 0);
  u.total_tokens = int_member(usage, "total_tokens", u.prompt_tokens + u.completion_tokens);
  if (JsonValue details = usage.member("prompt_tokens_details")) {
    u.cached_tokens = int_member(details, "cached_tokens", -1);
  }
  return u;
}

bool same_usage(const Usage& a, const Usage& b) {
  return a.prompt_tokens == b.prompt_tokens && a.completion_tokens == b.completion_tokens &&
         a.total_tokens == b.total_tokens && a.cached_tokens == b.cached_tokens;
}

// choices[0].finish_reason of the OpenAI-shaped frame upstream sends near the end.
bool read_finish_reason(JsonValue payload, FinishReason& out) {
  const JsonValue first = payload.member("choices").element(0);
  if (!first) return false;
  const std::string_view reason = first.member("finish_reason").string();
  if (reason == "stop") {
    out = FinishReason::kStop;
  } else if (reason == "length") {
    out = FinishReason::kLength;
  } else if (reason == "content_filter" || reason == "sensitive") {
    out = FinishReason::kContentFilter;
  } else {
    return false;
  }
  return true;
}

bool is_end(JsonValue payload) {
  return payload.member("done").boolean() == true || payload.member("phase").string() == "done";
}

// What the guest events mean: the answer's text as edits of M, usage, finish reason, end.
class GuestEvents final : public JsonEvents {
 public:
  explicit GuestEvents(size_t max_message_bytes) : buffer_(max_message_bytes) {}

  EventOutcome on_event(JsonValue doc, std::string_view, DeltaSink& sink) override;
  EventOutcome at_stream_end() override {
    return EventOutcome::truncated("upstream closed the stream before the end of the answer");
  }
  void on_answer_end(DeltaSink& sink) override { splitter_.finish(buffer_.view(), sink); }

 private:
  EventOutcome apply_text(JsonValue payload, DeltaSink& sink);
  void apply_meta(JsonValue payload, DeltaSink& sink);

  MessageBuffer buffer_;
  ReasoningSplitter splitter_;
  bool has_usage_ = false;
  Usage usage_;
};

EventOutcome GuestEvents::on_event(JsonValue doc, std::string_view, DeltaSink& sink) {
  if (JsonValue error = find_error(doc)) {
    return EventOutcome::fail(classify_error(200, read_error(error)));
  }
  const JsonValue type = doc.member("type");
  const JsonValue data = doc.member("data");
  const bool envelope = type.is_string() && data.is_object();
  if (envelope && type.string() != "chat:completion") {
    return EventOutcome::more();  // title, tags, …: not the answer
  }
  const JsonValue payload = envelope ? data : doc;
  if (EventOutcome text = apply_text(payload, sink); text.step != EventStep::kMore) return text;
  apply_meta(payload, sink);
  return is_end(payload) ? EventOutcome::end() : EventOutcome::more();
}

// A frame carrying both applies its edit first (edit_index counts M before this frame), then
// appends its delta_content.
EventOutcome GuestEvents::apply_text(JsonValue payload, DeltaSink& sink) {
  bool changed = false;
  const JsonValue edit = payload.member("edit_content");
  const JsonValue index = payload.member("edit_index");
  if (edit.is_string() && index && !index.is_null()) {
    const std::optional<uint64_t> from = index.uint64();
    if (!from) {
      return EventOutcome::bad_response(
          "upstream sent an edit_index that is not a non-negative integer");
    }
    size_t at = 0;
    if (!buffer_.replace_from(*from, edit.string(), at)) {
      return EventOutcome::bad_response("upstream answer exceeds the message size limit");
    }
    splitter_.invalidate_from(at);
    changed = true;
  }
  const std::string_view delta = payload.member("delta_content").string();
  if (!delta.empty()) {
    if (!buffer_.append(delta)) {
      return EventOutcome::bad_response("upstream answer exceeds the message size limit");
    }
    changed = true;
  }
  if (changed) splitter_.render(buffer_.view(), sink);
  return EventOutcome::more();
}

void GuestEvents::apply_meta(JsonValue payload, DeltaSink& sink) {
  const JsonValue u = payload.member("usage");
  if (u.is_object()) {
    const Usage next = read_usage(u);
    if (!has_usage_ || !same_usage(next, usage_)) sink.on_usage(next);
    usage_ = next;
    has_usage_ = true;
  }
  FinishReason reason = FinishReason::kStop;
  if (read_finish_reason(payload, reason)) sink.on_finish_reason(reason);
}

}  // namespace

StreamDecoder::StreamDecoder(SseLimits limits, size_t max_message_bytes)
    : JsonEventStream(limits, std::make_unique<GuestEvents>(max_message_bytes)) {}

}  // namespace zproxy::guest
