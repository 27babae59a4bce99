// Arbitrary bytes through the guest-mode StreamDecoder. The first input byte picks a cut
// position (scaled over the rest of the input); the rest is decoded whole, in two slices at that
// cut, and (when short) one byte at a time. Traps when:
//   - the runs deliver different calls (any slicing must give the same deltas);
//   - anything is delivered after on_end()/on_failure(), or finish() ends without exactly one;
//   - a delta is empty, or emitted text is not valid UTF-8 although the input was.
// Small limits (SSE line/event, message buffer) so that inputs reach the limit failures too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "upstream/guest/guest.h"

namespace {

using namespace zproxy;

constexpr SseLimits kLimits{4096, 16384};
constexpr size_t kMaxMessageBytes = 65536;
constexpr size_t kMaxBytewiseInput = 2048;

// RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      n = 1, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3, cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // sequence cut short
    for (size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

// Records every call length-prefixed and checks the sink-side invariants.
class Checker final : public DeltaSink {
 public:
  explicit Checker(bool check_utf8) : check_utf8_(check_utf8) {}

  void on_reasoning(std::string_view t) override { text('R', t); }
  void on_content(std::string_view t) override { text('C', t); }
  void on_tool_call(const ToolCallDelta&) override { __builtin_trap(); }  // guest has none
  void on_usage(const Usage& u) override {
    call('U');
    append(std::to_string(u.prompt_tokens) + "/" + std::to_string(u.completion_tokens) + "/" +
           std::to_string(u.total_tokens) + "/" + std::to_string(u.cached_tokens));
  }
  void on_finish_reason(FinishReason r) override {
    call('F');
    append(std::to_string(static_cast<int>(r)));
  }
  void on_end() override { call('E'), ++finals; }
  void on_failure(const UpstreamFailure& f) override {
    call('X');
    ++finals;
    append(std::to_string(static_cast<int>(f.error.code)) + "/" +
           std::to_string(static_cast<int>(f.verdict)) + "/" + f.error.message);
  }

  std::string log;
  int finals = 0;

 private:
  void call(char kind) {
    if (finals != 0) __builtin_trap();  // nothing after the end
    log.push_back(kind);
  }
  void text(char kind, std::string_view t) {
    call(kind);
    if (t.empty()) __builtin_trap();
    if (check_utf8_ && !valid_utf8(t)) __builtin_trap();
    append(t);
  }
  void append(std::string_view s) {
    log += std::to_string(s.size());
    log += ':';
    log.append(s);
  }
  bool check_utf8_;
};

std::string run(std::string_view input, const std::vector<size_t>& cuts, bool check_utf8) {
  guest::StreamDecoder decoder(kLimits, kMaxMessageBytes);
  Checker sink(check_utf8);
  size_t from = 0;
  for (size_t cut : cuts) {
    decoder.feed(input.substr(from, cut - from), sink);
    from = cut;
  }
  decoder.feed(input.substr(from), sink);
  decoder.finish(sink);
  if (sink.finals != 1 || !decoder.ended()) __builtin_trap();
  decoder.feed("data: {\"delta_content\": \"late\"}\n\n", sink);  // ignored after the end
  decoder.finish(sink);
  return sink.log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t cut = input.size() * data[0] / 255;
  const bool check_utf8 = valid_utf8(input);
  const std::string whole = run(input, {}, check_utf8);
  if (run(input, {cut}, check_utf8) != whole) __builtin_trap();
  if (input.size() <= kMaxBytewiseInput) {
    std::vector<size_t> every_byte;
    for (size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
    if (run(input, every_byte, check_utf8) != whole) __builtin_trap();
  }
  return 0;
}
