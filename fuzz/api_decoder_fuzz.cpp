// API-mode decoders on arbitrary bytes. The input is one upstream answer (stream or body; the
// seed corpus holds the golden fixtures' upstream files). Checked properties:
// - StreamDecoder gives the same deltas fed whole, in two halves, and one byte at a time;
// - every decoder run ends with exactly one on_end() or on_failure(), and nothing after it;
// - decode_completion and classify_failure accept anything.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "upstream/zai_api/api.h"

namespace {

constexpr int64_t kWall = 1764151200000;

class Recorder final : public zproxy::DeltaSink {
 public:
  void on_reasoning(std::string_view t) override { add('r', t); }
  void on_content(std::string_view t) override { add('c', t); }
  void on_tool_call(const zproxy::ToolCallDelta& c) override {
    add('t', std::to_string(c.index));
    add('i', c.id);
    add('y', c.type);
    add('n', c.name);
    add('a', c.arguments);
  }
  void on_usage(const zproxy::Usage& u) override {
    add('u', std::to_string(u.prompt_tokens) + "/" + std::to_string(u.completion_tokens) + "/" +
                 std::to_string(u.total_tokens) + "/" + std::to_string(u.cached_tokens) + "/" +
                 std::to_string(u.reasoning_tokens));
  }
  void on_finish_reason(zproxy::FinishReason r) override {
    add('f', std::to_string(static_cast<int>(r)));
  }
  void on_end() override {
    add('E', {});
    ++terminals;
  }
  void on_failure(const zproxy::UpstreamFailure& f) override {
    add('F', std::to_string(static_cast<int>(f.error.code)) + "/" +
                 std::to_string(static_cast<int>(f.verdict)));
    ++terminals;
  }

  std::string log;
  int terminals = 0;

 private:
  void add(char tag, std::string_view text) {
    if (terminals != 0) std::abort();  // a call after the end
    log += tag;
    log += std::to_string(text.size());
    log += ':';
    log += text;
  }
};

std::string run_stream(std::string_view data, size_t slice) {
  zproxy::api::StreamDecoder decoder(zproxy::SseLimits{1u << 16, 1u << 16}, kWall);
  Recorder sink;
  for (size_t pos = 0; pos < data.size(); pos += slice) decoder.feed(data.substr(pos, slice), sink);
  decoder.finish(sink);
  if (sink.terminals != 1 || !decoder.ended()) std::abort();
  return sink.log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  const std::string whole = run_stream(data, data.size() + 1);
  if (run_stream(data, data.size() / 2 + 1) != whole) std::abort();
  if (run_stream(data, 1) != whole) std::abort();

  Recorder body_sink;
  zproxy::api::decode_completion(data, kWall, body_sink);
  if (body_sink.terminals != 1) std::abort();

  for (int status : {200, 401, 404, 429, 500}) {
    const zproxy::UpstreamFailure f = zproxy::api::classify_failure(status, data, kWall);
    if (f.error.message.empty()) std::abort();
  }
  return 0;
}
