// Guest upstream stream -> semantic deltas (zai-upstream.md 1.4):
//   bytes -> SSE events -> one JSON document each -> envelope -> message buffer M -> splitter.
#include <utility>

#include "upstream/guest/classify.h"
#include "upstream/guest/guest.h"
#include "upstream/guest/message_buffer.h"
#include "upstream/guest/reasoning_splitter.h"
#include "json/json.h"

namespace zproxy::guest {
namespace {

UpstreamFailure bad_response(std::string message) {
  return UpstreamFailure{.error = make_error(Errc::kUpstreamBadResponse, std::move(message)),
                         .verdict = Verdict::kTransient};
}

UpstreamFailure truncated() {
  return UpstreamFailure{
      .error = make_error(Errc::kUpstreamTruncated,
                          "upstream closed the stream before the end of the answer"),
      .verdict = Verdict::kTransient};
}

int64_t int_member(const rapidjson::Value& obj, std::string_view key, int64_t fallback) {
  const rapidjson::Value* v = json_member(obj, key);
  return v != nullptr && v->IsInt64() ? v->GetInt64() : fallback;
}

Usage read_usage(const rapidjson::Value& usage) {
  Usage u;
  u.prompt_tokens = int_member(usage, "prompt_tokens", 0);
  u.completion_tokens = int_member(usage, "completion_tokens", 0);
  u.total_tokens = int_member(usage, "total_tokens", u.prompt_tokens + u.completion_tokens);
  if (const rapidjson::Value* details = json_member(usage, "prompt_tokens_details")) {
    u.cached_tokens = int_member(*details, "cached_tokens", -1);
  }
  return u;
}

bool same_usage(const Usage& a, const Usage& b) {
  return a.prompt_tokens == b.prompt_tokens && a.completion_tokens == b.completion_tokens &&
         a.total_tokens == b.total_tokens && a.cached_tokens == b.cached_tokens;
}

// choices[0].finish_reason of the OpenAI-shaped frame upstream sends near the end.
bool read_finish_reason(const rapidjson::Value& payload, FinishReason& out) {
  const rapidjson::Value* choices = json_member(payload, "choices");
  if (choices == nullptr || !choices->IsArray() || choices->Empty()) return false;
  const std::string_view reason = json_string((*choices)[0], "finish_reason");
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

bool is_end(const rapidjson::Value& payload) {
  const rapidjson::Value* done = json_member(payload, "done");
  return (done != nullptr && done->IsBool() && done->GetBool()) ||
         json_string(payload, "phase") == "done";
}

}  // namespace

struct StreamDecoder::Impl final : SseHandler {
  Impl(SseLimits limits, size_t max_message_bytes) : parser(limits), buffer(max_message_bytes) {}

  void on_event(const SseEvent& event) override;
  // The completion fields of one event; false when it failed the stream.
  bool apply_text(const rapidjson::Value& payload);
  void apply_meta(const rapidjson::Value& payload);
  void end();
  void fail(const UpstreamFailure& failure);

  SseParser parser;
  JsonEventParser json;
  MessageBuffer buffer;
  ReasoningSplitter splitter;
  DeltaSink* sink = nullptr;  // during feed() / finish() only
  bool ended = false;
  bool has_usage = false;
  Usage usage;
};

// An event the stream cut (no blank line after it) is dropped unread, whatever it holds: the
// stream ended with the event before, so finish() reports the truncation.
void StreamDecoder::Impl::on_event(const SseEvent& event) {
  if (ended || event.cut) return;
  if (event.data == "[DONE]") return end();
  auto parsed = json.parse(event.data);
  if (!parsed.ok() || !(*parsed)->IsObject()) {
    return fail(bad_response("upstream sent an event that is not a JSON object"));
  }
  const rapidjson::Value& doc = **parsed;
  if (const rapidjson::Value* error = find_error(doc)) {
    return fail(classify_error(200, read_error(*error)));
  }
  const rapidjson::Value* type = json_member(doc, "type");
  const rapidjson::Value* data = json_member(doc, "data");
  const bool envelope = type != nullptr && type->IsString() && data != nullptr && data->IsObject();
  if (envelope && as_view(*type) != "chat:completion") return;  // title, tags, …: not the answer
  const rapidjson::Value& payload = envelope ? *data : doc;
  if (!apply_text(payload)) return;
  apply_meta(payload);
  if (is_end(payload)) end();
}

// A frame carrying both applies its edit first (edit_index counts M before this frame), then
// appends its delta_content.
bool StreamDecoder::Impl::apply_text(const rapidjson::Value& payload) {
  bool changed = false;
  const rapidjson::Value* edit = json_member(payload, "edit_content");
  const rapidjson::Value* index = json_member(payload, "edit_index");
  if (edit != nullptr && edit->IsString() && index != nullptr && !index->IsNull()) {
    if (!index->IsUint64()) {
      fail(bad_response("upstream sent an edit_index that is not a non-negative integer"));
      return false;
    }
    size_t at = 0;
    if (!buffer.replace_from(index->GetUint64(), as_view(*edit), at)) {
      fail(bad_response("upstream answer exceeds the message size limit"));
      return false;
    }
    splitter.invalidate_from(at);
    changed = true;
  }
  const rapidjson::Value* delta = json_member(payload, "delta_content");
  if (delta != nullptr && delta->IsString() && delta->GetStringLength() > 0) {
    if (!buffer.append(as_view(*delta))) {
      fail(bad_response("upstream answer exceeds the message size limit"));
      return false;
    }
    changed = true;
  }
  if (changed) splitter.render(buffer.view(), *sink);
  return true;
}

void StreamDecoder::Impl::apply_meta(const rapidjson::Value& payload) {
  const rapidjson::Value* u = json_member(payload, "usage");
  if (u != nullptr && u->IsObject()) {
    const Usage next = read_usage(*u);
    if (!has_usage || !same_usage(next, usage)) sink->on_usage(next);
    usage = next;
    has_usage = true;
  }
  FinishReason reason = FinishReason::kStop;
  if (read_finish_reason(payload, reason)) sink->on_finish_reason(reason);
}

void StreamDecoder::Impl::end() {
  ended = true;
  splitter.finish(buffer.view(), *sink);
  sink->on_end();
}

void StreamDecoder::Impl::fail(const UpstreamFailure& failure) {
  ended = true;
  sink->on_failure(failure);
}

StreamDecoder::StreamDecoder(SseLimits limits, size_t max_message_bytes)
    : impl_(std::make_unique<Impl>(limits, max_message_bytes)) {}

StreamDecoder::~StreamDecoder() = default;
StreamDecoder::StreamDecoder(StreamDecoder&&) noexcept = default;
StreamDecoder& StreamDecoder::operator=(StreamDecoder&&) noexcept = default;

void StreamDecoder::feed(std::string_view bytes, DeltaSink& sink) {
  if (impl_ == nullptr || impl_->ended) return;
  impl_->sink = &sink;
  const Status status = impl_->parser.feed(bytes, *impl_);
  if (!status.ok() && !impl_->ended) impl_->fail(bad_response(status.error().message));
  impl_->sink = nullptr;
}

void StreamDecoder::finish(DeltaSink& sink) {
  if (impl_ == nullptr || impl_->ended) return;
  impl_->sink = &sink;
  const Status status = impl_->parser.finish(*impl_);
  if (!status.ok() && !impl_->ended) impl_->fail(bad_response(status.error().message));
  if (!impl_->ended) impl_->fail(truncated());
  impl_->sink = nullptr;
}

bool StreamDecoder::ended() const {
  return impl_ == nullptr || impl_->ended;
}

}  // namespace zproxy::guest
