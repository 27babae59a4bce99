#pragma once
// The shell both upstream stream decoders share (guest: docs/upstream.md §1.4, API: §2.3):
//   bytes -> SseParser -> one JSON object per event -> the mode's JsonEvents -> DeltaSink.
//
// The shell owns what the upstreams have in common:
//   - SSE framing and its limits (an overrun is kUpstreamBadResponse);
//   - an event's data, whitespace trimmed: empty is skipped, "[DONE]" ends the answer, anything
//     else must be a JSON object, or the stream fails with kUpstreamBadResponse;
//   - an event the stream ends inside (in its last line, or before its blank line) is not read,
//     whatever it holds: the stream ended with the event before it (docs/contract.md §6: a
//     cut answer is a truncation, not a malformed one);
//   - exactly one on_end() or on_failure() reaches the sink, last; later bytes are ignored.
// A mode (JsonEvents) says only what its JSON events mean, and whether a stream that stops
// without an end marker still holds a whole answer.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/upstream.h"
#include "json/value.h"
#include "sse/sse_parser.h"

namespace zproxy {

enum class EventStep : uint8_t {
  kMore,     // the answer goes on
  kEnd,      // the answer is complete (the mode's end marker)
  kFailure,  // the answer failed: EventOutcome::failure says how
};

// What one event (or the end of the stream) meant for the answer.
struct EventOutcome {
  EventStep step = EventStep::kMore;
  UpstreamFailure failure;  // kFailure only

  static EventOutcome more() { return {}; }
  static EventOutcome end() { return {EventStep::kEnd, {}}; }
  static EventOutcome fail(UpstreamFailure failure) {
    return {EventStep::kFailure, std::move(failure)};
  }
  // kUpstreamBadResponse / kUpstreamTruncated, kTransient.
  static EventOutcome bad_response(std::string message);
  static EventOutcome truncated(std::string message);
};

// The part of a stream decoder that differs per upstream.
class JsonEvents {
 public:
  virtual ~JsonEvents() = default;
  // One complete event whose data is a JSON object; `text` is that data. Deltas go to `sink`.
  // The views are valid during the call only.
  virtual EventOutcome on_event(JsonValue object, std::string_view text, DeltaSink& sink) = 0;
  // The stream stopped without an end marker, after its last complete event: kEnd when what
  // came is a whole answer all the same, else a failure (a truncation).
  virtual EventOutcome at_stream_end() = 0;
  // The answer is complete: deliver what is still held back, just before on_end().
  virtual void on_answer_end(DeltaSink& sink) {}
};

class JsonEventStream {
 public:
  JsonEventStream(SseLimits limits, std::unique_ptr<JsonEvents> events);
  ~JsonEventStream();
  JsonEventStream(JsonEventStream&&) noexcept;
  JsonEventStream& operator=(JsonEventStream&&) noexcept;

  void feed(std::string_view bytes, DeltaSink& sink);
  void finish(DeltaSink& sink);  // the upstream body ended
  // on_end() or on_failure() has been delivered (or this was moved from): bytes are ignored.
  bool ended() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  // null only after a move
};

}  // namespace zproxy
