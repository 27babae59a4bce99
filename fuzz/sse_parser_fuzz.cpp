// Any slicing of a stream gives the same events. The first input byte picks a cut position
// (scaled over the rest of the input); the rest is fed whole, in two slices at that cut, and
// one byte at a time. Any difference in events (their `cut` mark too), final status or retry
// value traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sse/sse_parser.h"

namespace {

using zproxy::SseEvent;
using zproxy::SseLimits;
using zproxy::SseParser;
using zproxy::Status;

// Small limits, so that inputs reach the limit errors too.
constexpr SseLimits kLimits{256, 1024};
// Byte-at-a-time replays are skipped above this size (they cost one feed call per byte).
constexpr size_t kMaxBytewiseInput = 1024;

// Records events length-prefixed, so no two different sequences render the same.
class Recorder : public zproxy::SseHandler {
 public:
  void on_event(const SseEvent& e) override {
    if (e.type.empty()) __builtin_trap();
    append(e.type);
    append(e.data);
    append(e.last_event_id);
    log += e.cut ? 'c' : '.';
  }
  void append(std::string_view s) {
    log += std::to_string(s.size());
    log += ':';
    log.append(s);
  }
  std::string log;
};

// Feeds `input` cut at the sorted offsets `cuts`, then finishes; returns the rendered run.
std::string run(std::string_view input, const std::vector<size_t>& cuts) {
  SseParser parser(kLimits);
  Recorder rec;
  Status status = zproxy::ok_status();
  size_t from = 0;
  for (size_t i = 0; i <= cuts.size() && status.ok(); ++i) {
    const size_t to = i < cuts.size() ? cuts[i] : input.size();
    status = parser.feed(input.substr(from, to - from), rec);
    from = to;
  }
  if (status.ok()) status = parser.finish(rec);
  rec.append(status.ok() ? "ok" : status.error().message);
  rec.append(std::to_string(parser.retry_ms()));
  return rec.log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t cut = input.size() * data[0] / 255;
  const std::string whole = run(input, {});
  if (run(input, {cut}) != whole) __builtin_trap();
  if (input.size() <= kMaxBytewiseInput) {
    std::vector<size_t> every_byte(input.size());
    for (size_t i = 0; i < input.size(); ++i) every_byte[i] = i;
    if (run(input, every_byte) != whole) __builtin_trap();
  }
  return 0;
}
