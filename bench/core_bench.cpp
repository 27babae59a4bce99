// Stream-translation throughput of the core alone: zproxy::Translator over a large synthetic
// guest (web-chat) stream and a large official-API stream, fed in 16 KiB reads as the native
// host does, its output drained after every read, each written in the chat dialect and in the
// Messages dialect. Throughput counts upstream bytes consumed.
//
// Timed per iteration (translate() with out_bytes): parse the fixture options into a
// Translator; for each 16 KiB slice (a view into the stream, which is in memory before timing),
// feed() it, take the emitter's output as a std::string and add its size to a counter; then
// finish() and transcript(), counted too. The output is discarded, not copied anywhere.
// bench/wasm_bench.mjs times the same steps inside the Wasm module (zp_fixture_bench in
// worker/boundary.cpp).
//
//   zproxy_core_bench [Google Benchmark flags]
//   zproxy_core_bench --dump=DIR   writes the streams, their fixture options, read offsets and
//                                  the expected output for bench/wasm_bench.mjs, then exits
//
// The streams are deterministic: a thinking section, the guest closing edit (edit_index 32,
// the reasoning repeated), then a long answer in deltas of 1-4 words with escapes, quotes and
// multi-byte UTF-8 mixed in.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "support/fixture.h"

namespace {

constexpr size_t kTargetBytes = 2 << 20;  // per stream
constexpr size_t kReadBytes = 16 << 10;   // one host read
constexpr int kThinkingDeltas = 400;

constexpr std::string_view kGuestOptions =
    R"({"shape":"guest_stream","stream":true,"include_usage":true,"thinking":"reasoning_content","stop":[],"model":"glm-4.6"})";
constexpr std::string_view kApiOptions =
    R"({"shape":"api_stream","stream":true,"include_usage":true,"thinking":"reasoning_content","stop":[],"model":"glm-4.6"})";
// The same streams written in the Messages dialect (issue: within 1.3x the chat dialect).
constexpr std::string_view kGuestMessagesOptions =
    R"({"dialect":"messages","shape":"guest_stream","stream":true,"thinking":"reasoning_content","stop":[],"model":"claude-sonnet-4-5"})";
// And in the Responses dialect (issue: within 1.3x the chat dialect too).
constexpr std::string_view kGuestResponsesOptions =
    R"({"dialect":"responses","shape":"guest_stream","stream":true,"thinking":"reasoning_content","stop":[],"model":"glm-4.6"})";
constexpr std::string_view kApiResponsesOptions =
    R"({"dialect":"responses","shape":"api_stream","stream":true,"thinking":"reasoning_content","stop":[],"model":"glm-4.6"})";
constexpr std::string_view kApiMessagesOptions =
    R"({"dialect":"messages","shape":"api_stream","stream":true,"thinking":"reasoning_content","stop":[],"model":"claude-sonnet-4-5"})";

// A small deterministic generator (xorshift), so every run sees the same bytes.
class Words {
 public:
  // One delta's text, already JSON-escaped: 1-4 words, sometimes a newline, a quoted word or
  // a few CJK characters.
  std::string next() {
    static constexpr const char* kWords[] = {"the",   "proxy", "streams", "tokens", "quickly",
                                             "and",   "keeps", "every",   "byte",   "in",
                                             "order", "while", "models",  "think",  "answer"};
    std::string out;
    const int n = 1 + static_cast<int>(rand() % 4);
    for (int i = 0; i < n; ++i) {
      const uint32_t r = rand();
      out += ' ';
      if (r % 29 == 0)
        out += "\\\"quoted\\\"";
      else if (r % 31 == 0)
        out += "\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97";  // 中文字
      else
        out += kWords[r % (sizeof kWords / sizeof kWords[0])];
    }
    if (rand() % 11 == 0) out += "\\n";
    return out;
  }

 private:
  uint32_t rand() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }
  uint32_t state_ = 2463534242u;
};

std::string guest_event(std::string_view data_fields) {
  return "data: {\"type\": \"chat:completion\", \"data\": {" + std::string(data_fields) + "}}\n\n";
}

std::string guest_delta(std::string_view phase, const std::string& text) {
  return guest_event("\"delta_content\": \"" + text + "\", \"phase\": \"" + std::string(phase) +
                     "\"");
}

// Reasoning lines carry a "> " prefix in the guest buffer; an escaped newline inside a delta
// becomes "\n> " there.
std::string quote_lines(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "\\n") == 0) {
      out += "\\n> ";
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string guest_stream() {
  Words words;
  std::string s;
  std::string reasoning = "> Let me think.";  // the block's text after the summary line
  s += guest_delta("thinking",
                   "<details type=\\\"reasoning\\\" done=\\\"false\\\" view=\\\"\\\" "
                   "last_tool_call_name=\\\"\\\">\\n<summary>Thinking\xe2\x80\xa6</summary>\\n"
                   "> Let me think.");
  for (int i = 0; i < kThinkingDeltas; ++i) {
    const std::string piece = quote_lines(words.next());
    reasoning += piece;
    s += guest_delta("thinking", piece);
  }
  s += guest_event(
      "\"edit_index\": 32, \"edit_content\": \"true\\\" duration=\\\"3\\\" view=\\\"\\\" "
      "last_tool_call_name=\\\"\\\">\\n<summary>Thought for 3 seconds</summary>\\n" +
      reasoning + "\\n</details>\\nHere is the answer:\", \"phase\": \"answer\"");
  while (s.size() < kTargetBytes) s += guest_delta("answer", words.next());
  s += guest_event(
      "\"usage\": {\"prompt_tokens\": 12, \"completion_tokens\": 58, \"total_tokens\": 70}, "
      "\"phase\": \"other\"");
  s += guest_event("\"done\": true, \"delta_content\": \"\", \"phase\": \"done\"");
  return s;
}

std::string api_chunk(std::string_view delta_fields, std::string_view tail = "") {
  return "data: {\"id\":\"20260313050242595b2cb031a74737\",\"created\":1773349362,\"model\":"
         "\"glm-4.6\",\"choices\":[{\"index\":0," +
         std::string(tail) + "\"delta\":{\"role\":\"assistant\"," + std::string(delta_fields) +
         "}}]}\n\n";
}

std::string api_stream() {
  Words words;
  std::string s;
  for (int i = 0; i < kThinkingDeltas; ++i) {
    s += api_chunk("\"reasoning_content\":\"" + words.next() + "\"");
  }
  while (s.size() < kTargetBytes) s += api_chunk("\"content\":\"" + words.next() + "\"");
  std::string last = api_chunk("\"content\":\"\"", "\"finish_reason\":\"stop\",");
  last.insert(last.size() - 3,
              ",\"usage\":{\"prompt_tokens\":15,\"completion_tokens\":7000,\"total_tokens\":7015}");
  s += last;
  s += "data: [DONE]\n\n";
  return s;
}

// The translator's whole output for `bytes`, drained after every read. Empty on a bad
// options string (cannot happen with the constants above).
std::string translate(std::string_view options, std::string_view bytes, size_t* out_bytes) {
  auto tr = zproxy::translator_from_fixture_options(options);
  if (!tr) return {};
  std::string out;
  size_t total = 0;
  for (size_t pos = 0; pos < bytes.size(); pos += kReadBytes) {
    tr->feed(bytes.substr(pos, kReadBytes));
    std::string piece = tr->emitter().take_output();
    total += piece.size();
    if (!out_bytes) out += piece;
  }
  tr->finish();
  std::string rest = zproxy::transcript(*tr);
  total += rest.size();
  if (out_bytes)
    *out_bytes = total;
  else
    out += rest;
  return out;
}

void run_stream(benchmark::State& state, std::string_view options, const std::string& bytes) {
  const std::string expected = translate(options, bytes, nullptr);
  const bool complete =
      expected.ends_with("data: [DONE]\n\n") ||
      expected.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n") ||
      expected.find("event: response.completed\n") != std::string::npos;
  if (expected.size() < bytes.size() / 4 || !complete) {
    state.SkipWithError("the synthetic stream did not translate to a complete answer");
    return;
  }
  size_t out_bytes = 0;
  for (auto _ : state) {
    translate(options, bytes, &out_bytes);
    benchmark::DoNotOptimize(out_bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes.size()));
  state.counters["input_bytes"] = static_cast<double>(bytes.size());
  state.counters["output_bytes"] = static_cast<double>(expected.size());
}

void BM_GuestStream(benchmark::State& state) {
  static const std::string bytes = guest_stream();
  run_stream(state, kGuestOptions, bytes);
}
BENCHMARK(BM_GuestStream)->Unit(benchmark::kMillisecond);

void BM_ApiStream(benchmark::State& state) {
  static const std::string bytes = api_stream();
  run_stream(state, kApiOptions, bytes);
}
BENCHMARK(BM_ApiStream)->Unit(benchmark::kMillisecond);

void BM_GuestMessagesStream(benchmark::State& state) {
  static const std::string bytes = guest_stream();
  run_stream(state, kGuestMessagesOptions, bytes);
}
BENCHMARK(BM_GuestMessagesStream)->Unit(benchmark::kMillisecond);

void BM_ApiMessagesStream(benchmark::State& state) {
  static const std::string bytes = api_stream();
  run_stream(state, kApiMessagesOptions, bytes);
}
BENCHMARK(BM_ApiMessagesStream)->Unit(benchmark::kMillisecond);

void BM_GuestResponsesStream(benchmark::State& state) {
  static const std::string bytes = guest_stream();
  run_stream(state, kGuestResponsesOptions, bytes);
}
BENCHMARK(BM_GuestResponsesStream)->Unit(benchmark::kMillisecond);

void BM_ApiResponsesStream(benchmark::State& state) {
  static const std::string bytes = api_stream();
  run_stream(state, kApiResponsesOptions, bytes);
}
BENCHMARK(BM_ApiResponsesStream)->Unit(benchmark::kMillisecond);

bool write_file(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(f);
}

// DIR/{guest,api,guestmessages,apimessages}.{sse,options.json,expected}: what
// bench/wasm_bench.mjs replays.
int dump(const std::string& dir) {
  struct Item {
    const char* name;
    std::string_view options;
    std::string bytes;
  };
  const Item items[] = {{"guest", kGuestOptions, guest_stream()},
                        {"api", kApiOptions, api_stream()},
                        {"guestmessages", kGuestMessagesOptions, guest_stream()},
                        {"apimessages", kApiMessagesOptions, api_stream()},
                        {"guestresponses", kGuestResponsesOptions, guest_stream()},
                        {"apiresponses", kApiResponsesOptions, api_stream()}};
  for (const Item& it : items) {
    const std::string base = dir + "/" + it.name;
    if (!write_file(base + ".sse", it.bytes) || !write_file(base + ".options.json", it.options) ||
        !write_file(base + ".expected", translate(it.options, it.bytes, nullptr))) {
      std::fprintf(stderr, "cannot write %s.*\n", base.c_str());
      return 1;
    }
  }
  std::printf("{\"read_bytes\":%zu}\n", kReadBytes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--dump=", 7) == 0) return dump(argv[i] + 7);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
