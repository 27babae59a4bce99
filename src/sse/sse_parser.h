#pragma once
// Incremental Server-Sent Events reader (WHATWG HTML "event stream interpretation").
//
// Grammar (per line; a line ends at CRLF, LF or CR):
//   blank line          -> dispatch the current event (if its data buffer is non-empty)
//   ":" anything        -> comment, ignored
//   name ":" [" "] value -> field; one leading space of the value is dropped
//   name                -> field with empty value
// Fields: "data" appends value + "\n" to the data buffer (the final "\n" is removed on
// dispatch), "event" sets the type, "id" sets the last event id (ignored if it contains NUL),
// "retry" sets the reconnection time when the value is all ASCII digits. Others are ignored.
//
// feed() accepts any slicing of the byte stream and produces identical events: a CR at the end
// of one slice followed by LF at the start of the next ends one line, not two.
// finish() dispatches a final event that lacks its trailing blank line, marked `cut`: the
// stream ended inside it (in its last line, or before the blank line that would end it), so
// its data may be incomplete. A reader that must not act on half an event checks `cut`.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace zproxy {

struct SseLimits {
  size_t max_line_bytes = 8u << 20;   // one line, without its terminator
  size_t max_event_bytes = 8u << 20;  // one event's data buffer
  static SseLimits from_mib(size_t mib) { return {mib << 20, mib << 20}; }
};

// Views are valid during the on_event call only.
struct SseEvent {
  std::string_view type;  // "message" when no event field was given
  std::string_view data;
  std::string_view last_event_id;
  bool cut = false;  // dispatched by finish(): the stream ended before this event's blank line
};

class SseHandler {
 public:
  virtual ~SseHandler() = default;
  virtual void on_event(const SseEvent& event) = 0;
};

class SseParser {
 public:
  explicit SseParser(SseLimits limits = {});

  // Parses bytes, calling handler.on_event for each complete event. After an error every
  // later call returns the same error (kUpstreamBadResponse naming the limit exceeded).
  Status feed(std::span<const char> bytes, SseHandler& handler);
  Status feed(std::string_view bytes, SseHandler& handler) {
    return feed(std::span<const char>(bytes.data(), bytes.size()), handler);
  }
  // End of stream: an unterminated last line and event are dispatched, the event marked `cut`.
  Status finish(SseHandler& handler);

  // Last "retry:" value in ms, or -1.
  int64_t retry_ms() const { return retry_ms_; }

 private:
  Status fail(std::string message);
  // in_slice: `line` lies in the bytes of the feed() call in progress.
  Status process_line(std::string_view line, bool in_slice, SseHandler& handler);
  void dispatch(SseHandler& handler, bool cut = false);
  void keep_data();  // copies a data line held as a view into data_

  SseLimits limits_;
  std::string line_;         // unfinished line tail
  bool pending_cr_ = false;  // the previous slice ended with CR: skip one leading LF
  bool at_start_ = true;     // no line has ended yet: a leading UTF-8 BOM is stripped
  std::string data_;         // current event's data buffer
  // The usual event has a single data line: while it lies in the slice being fed it is held as
  // a view (its "\n" implied) instead of copied. data_ is empty meanwhile.
  std::string_view data_view_;
  bool has_data_view_ = false;
  std::string type_;  // current event's type
  std::string last_id_;
  int64_t retry_ms_ = -1;
  bool failed_ = false;
  Error error_;
};

}  // namespace zproxy
