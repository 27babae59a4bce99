// API mode: StreamDecoder (SSE chunks -> deltas) and decode_completion (one body -> deltas).
// Every stream is checked whole, split into two slices at every byte, and one byte at a time.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "upstream/zai_api/api.h"

using namespace zproxy;

namespace {

constexpr int64_t kWall = 1764151200000;  // 2025-11-26 10:00:00 UTC

std::string finish_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kToolCalls: return "tool_calls";
    case FinishReason::kContentFilter: return "content_filter";
  }
  return "?";
}

std::string verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kDead: return "dead";
    case Verdict::kCooldown: return "cooldown";
    case Verdict::kTransient: return "transient";
    case Verdict::kClientFault: return "client_fault";
    case Verdict::kUpstreamWide: return "upstream_wide";
  }
  return "?";
}

// One line per call, so a whole answer compares as one string.
class RecordingSink final : public DeltaSink {
 public:
  void on_reasoning(std::string_view t) override { log += "reasoning:" + std::string(t) + "\n"; }
  void on_content(std::string_view t) override { log += "content:" + std::string(t) + "\n"; }
  void on_tool_call(const ToolCallDelta& c) override {
    log += "tool:" + std::to_string(c.index) + "|" + std::string(c.id) + "|" + std::string(c.type) +
           "|" + std::string(c.name) + "|" + std::string(c.arguments) + "\n";
  }
  void on_usage(const Usage& u) override {
    log += "usage:" + std::to_string(u.prompt_tokens) + "/" + std::to_string(u.completion_tokens) +
           "/" + std::to_string(u.total_tokens) + " cached=" + std::to_string(u.cached_tokens) +
           " reasoning=" + std::to_string(u.reasoning_tokens) + "\n";
  }
  void on_finish_reason(FinishReason r) override { log += "finish:" + finish_name(r) + "\n"; }
  void on_end() override { log += "end\n"; }
  void on_failure(const UpstreamFailure& f) override {
    log += "failure:" + std::string(errc_info(f.error.code).code) + " " + verdict_name(f.verdict) +
           "\n";
    failure = f;
  }
  std::string log;
  UpstreamFailure failure;
};

std::string decode_stream(const std::string& bytes, const std::vector<size_t>& cuts,
                          SseLimits limits = {}) {
  api::StreamDecoder decoder(limits, kWall);
  RecordingSink sink;
  size_t pos = 0;
  for (size_t cut : cuts) {
    decoder.feed(std::string_view(bytes).substr(pos, cut - pos), sink);
    pos = cut;
  }
  decoder.feed(std::string_view(bytes).substr(pos), sink);
  decoder.finish(sink);
  CHECK(decoder.ended());
  return sink.log;
}

// The log of the whole stream, after checking every slicing gives the same.
std::string decode_all_splits(const std::string& bytes) {
  const std::string whole = decode_stream(bytes, {});
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    INFO("split at " << cut);
    REQUIRE(decode_stream(bytes, {cut}) == whole);
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < bytes.size(); ++i) every.push_back(i);
  REQUIRE(decode_stream(bytes, every) == whole);
  return whole;
}

std::string frame(std::string_view json) {
  return "data: " + std::string(json) + "\n\n";
}

// A chunk as upstream writes it: every delta repeats the role, middle chunks have no
// finish_reason key.
std::string chunk(std::string_view delta_fields, std::string_view tail = "") {
  return frame(R"({"id":"20260313050242595b2cb031a74737","created":1773349362,"model":"glm-4.6",)"
               R"("choices":[{"index":0,"delta":{"role":"assistant",)" +
               std::string(delta_fields) + "}" + std::string(tail) + "}]}");
}

const std::string kFinalStop = frame(
    R"({"id":"20260313050242595b2cb031a74737","created":1773349362,"model":"glm-4.6",)"
    R"("choices":[{"index":0,"finish_reason":"stop","delta":{"role":"assistant","content":""}}],)"
    R"("usage":{"prompt_tokens":9,"completion_tokens":41,"total_tokens":50,)"
    R"("prompt_tokens_details":{"cached_tokens":2},)"
    R"("completion_tokens_details":{"reasoning_tokens":30}}})");

const std::string kDone = "data: [DONE]\n\n";

}  // namespace

TEST_CASE("api stream: reasoning, content, usage and finish in order", "[api][decoder]") {
  const std::string bytes =
      chunk(R"("reasoning_content":"The user")") + chunk(R"("reasoning_content":" greets.")") +
      chunk(R"("content":"Hello")") + chunk(R"("content":"! 你好")") + kFinalStop + kDone;
  CHECK(decode_all_splits(bytes) ==
        "reasoning:The user\n"
        "reasoning: greets.\n"
        "content:Hello\n"
        "content:! 你好\n"
        "finish:stop\n"
        "usage:9/41/50 cached=2 reasoning=30\n"
        "end\n");
}

TEST_CASE("api stream: how the stream may end", "[api][decoder]") {
  const std::string body = chunk(R"("content":"Hi")");
  struct Row {
    std::string name, bytes, log;
  };
  const std::vector<Row> rows = {
      {"final chunk then [DONE]", body + kFinalStop + kDone,
       "content:Hi\nfinish:stop\nusage:9/41/50 cached=2 reasoning=30\nend\n"},
      {"final chunk, no [DONE]", body + kFinalStop,
       "content:Hi\nfinish:stop\nusage:9/41/50 cached=2 reasoning=30\nend\n"},
      {"[DONE] without finish_reason", body + kDone, "content:Hi\nend\n"},
      {"neither: truncated", body, "content:Hi\nfailure:upstream_truncated transient\n"},
      {"empty body: truncated", "", "failure:upstream_truncated transient\n"},
      {"bytes after [DONE] are ignored", body + kDone + chunk(R"("content":"late")"),
       "content:Hi\nend\n"},
      {"CRLF line ends",
       "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\ndata: "
       "[DONE]\r\n\r\n",
       "content:a\nend\n"},
      {"comments and blank data are skipped", ": ping\n\ndata:\n\n" + body + kDone,
       "content:Hi\nend\n"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    CHECK(decode_all_splits(row.bytes) == row.log);
  }
}

TEST_CASE("api stream: a stream cut inside an event is truncated", "[api][decoder]") {
  // A cut event is dropped whole, whatever its data: the answer ends with the last complete
  // event, and only a complete end marker ([DONE], or the final chunk) makes it whole.
  const std::string body = chunk(R"("content":"Hi")");
  const std::string next = chunk(R"("content":" there")");
  const std::string truncated = "content:Hi\nfailure:upstream_truncated transient\n";
  const std::string complete =
      "content:Hi\nfinish:stop\nusage:9/41/50 cached=2 reasoning=30\nend\n";
  struct Row {
    std::string name, bytes, log;
  };
  const std::vector<Row> rows = {
      {"inside a data line", body + next.substr(0, next.size() / 2), truncated},
      {"inside the first data line", "data: {\"choi", "failure:upstream_truncated transient\n"},
      {"after a data line, before its blank line", body + next.substr(0, next.size() - 1),
       truncated},
      {"after a data line that is half a JSON text", body + "data: {\"choices\":\n", truncated},
      {"after its data line's CR", body + next.substr(0, next.size() - 2) + "\r", truncated},
      {"the final chunk without its blank line", body + kFinalStop.substr(0, kFinalStop.size() - 1),
       truncated},
      {"the final chunk inside its data line", body + kFinalStop.substr(0, kFinalStop.size() - 20),
       truncated},
      {"[DONE] without its line end", body + "data: [DONE]", truncated},
      {"[DONE] without its blank line", body + "data: [DONE]\n", truncated},
      {"after the final chunk, inside [DONE]", body + kFinalStop + "data: [DO", complete},
      {"after the final chunk, [DONE] without its blank line", body + kFinalStop + "data: [DONE]\n",
       complete},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    CHECK(decode_all_splits(row.bytes) == row.log);
  }
}

TEST_CASE("api stream: a complete event that does not parse is a bad response", "[api][decoder]") {
  // Whole events (blank line seen) that are not JSON objects, right before the end of stream,
  // and before a cut event: bad_response, not truncation.
  const std::vector<std::string> bad = {
      "data: {\"choices\":[\n\n",
      "data: not json\n\n",
      "data: [1,2]\n\n",
      "data: {\"choices\":\ndata: [\n\n",
  };
  for (const std::string& event : bad) {
    INFO(event);
    const std::string before = chunk(R"("content":"x")") + event;
    CHECK(decode_all_splits(before) == "content:x\nfailure:upstream_bad_response transient\n");
    CHECK(decode_all_splits(before + "data: {\"cho") ==
          "content:x\nfailure:upstream_bad_response transient\n");
  }
}

TEST_CASE("api stream: finish_reason mapping", "[api][decoder]") {
  struct Row {
    std::string upstream, log;
  };
  const std::vector<Row> rows = {
      {"stop", "finish:stop\nend\n"},
      {"length", "finish:length\nend\n"},
      {"tool_calls", "finish:tool_calls\nend\n"},
      {"sensitive", "finish:content_filter\nend\n"},
      {"model_context_window_exceeded", "finish:length\nend\n"},
      {"network_error", "failure:upstream_error transient\n"},
      {"something_new", "finish:stop\nend\n"},
  };
  for (const Row& row : rows) {
    INFO(row.upstream);
    const std::string bytes =
        chunk(R"("content":"")", R"(,"finish_reason":")" + row.upstream + "\"") + kDone;
    CHECK(decode_all_splits(bytes) == row.log);
  }
}

TEST_CASE("api stream: only the first finish_reason is reported", "[api][decoder]") {
  const std::string bytes = chunk(R"("content":"a")", R"(,"finish_reason":"length")") +
                            chunk(R"("content":"b")", R"(,"finish_reason":"stop")") + kDone;
  CHECK(decode_all_splits(bytes) == "content:a\nfinish:length\ncontent:b\nend\n");
}

TEST_CASE("api stream: tool calls", "[api][decoder]") {
  const std::string bytes =
      chunk(R"("content":"","tool_calls":[{"id":"call_-7885416548127433485","index":0,)"
            R"("type":"function","function":{"name":"get_weather",)"
            R"("arguments":"{\"city\":\"Paris\"}"}}])") +
      chunk(R"("tool_calls":[{"id":"call_2","type":"function","function":{"name":"time",)"
            R"("arguments":{"tz":"CET"}}},{"index":7,"function":{"arguments":"{}"}}])") +
      chunk(R"("content":"")", R"(,"finish_reason":"tool_calls")") + kDone;
  CHECK(decode_all_splits(bytes) ==
        "tool:0|call_-7885416548127433485|function|get_weather|{\"city\":\"Paris\"}\n"
        "tool:0|call_2|function|time|{\"tz\":\"CET\"}\n"
        "tool:7||||{}\n"
        "finish:tool_calls\nend\n");
}

TEST_CASE("api stream: error frames are classified", "[api][decoder]") {
  SECTION("before any content") {
    const std::string bytes =
        frame(R"({"error":{"code":"1301","message":"unsafe content"}})") + kDone;
    CHECK(decode_all_splits(bytes) == "failure:content_filter client_fault\n");
  }
  SECTION("after content") {
    const std::string bytes =
        chunk(R"("content":"Hel")") + frame(R"({"error":{"code":1234,"message":"network error"}})");
    CHECK(decode_all_splits(bytes) == "content:Hel\nfailure:upstream_error transient\n");
  }
  SECTION("rate limit with cooldown") {
    api::StreamDecoder decoder({}, kWall);
    RecordingSink sink;
    decoder.feed(frame(R"({"error":{"code":"1302","message":"busy"}})"), sink);
    CHECK(decoder.ended());
    CHECK(sink.log == "failure:rate_limit_exceeded cooldown\n");
    CHECK(sink.failure.cooldown_ms == 5000);
  }
}

TEST_CASE("api stream: malformed data", "[api][decoder]") {
  const std::vector<std::string> bad = {
      "data: {\"choices\":[\n\n",
      "data: [1,2]\n\n",
      "data: not json\n\n",
      "data: {\"a\":1} trailing\n\n",
  };
  for (const std::string& bytes : bad) {
    INFO(bytes);
    CHECK(decode_all_splits(chunk(R"("content":"x")") + bytes + kDone) ==
          "content:x\nfailure:upstream_bad_response transient\n");
  }
}

TEST_CASE("api stream: chunks without usable choices are tolerated", "[api][decoder]") {
  const std::string bytes = frame(R"({"id":"x","choices":[]})") +
                            frame(R"({"choices":[{"index":1,"delta":{"content":"other"}}]})") +
                            frame(R"({"choices":[{"delta":"odd"}],"usage":{"prompt_tokens":1}})") +
                            frame(R"({"choices":"odd","usage":null})") + kDone;
  CHECK(decode_all_splits(bytes) == "usage:1/0/1 cached=-1 reasoning=-1\nend\n");
}

TEST_CASE("api stream: an SSE limit overrun is a bad response", "[api][decoder]") {
  const std::string bytes = chunk(std::string(R"("content":")") + std::string(200, 'a') + "\"");
  CHECK(decode_stream(bytes, {}, SseLimits{64, 64}) == "failure:upstream_bad_response transient\n");
}

TEST_CASE("api stream: a moved decoder keeps its state", "[api][decoder]") {
  api::StreamDecoder first({}, kWall);
  RecordingSink sink;
  const std::string bytes = chunk(R"("content":"Hi")") + kFinalStop;
  first.feed(bytes.substr(0, 20), sink);
  api::StreamDecoder second(std::move(first));
  CHECK(first.ended());  // NOLINT(bugprone-use-after-move): moved-from is inert by contract
  first.feed(bytes, sink);
  second.feed(bytes.substr(20), sink);
  api::StreamDecoder third({}, kWall);
  third = std::move(second);
  CHECK_FALSE(third.ended());
  third.finish(sink);
  CHECK(third.ended());
  CHECK(sink.log == "content:Hi\nfinish:stop\nusage:9/41/50 cached=2 reasoning=30\nend\n");
}

TEST_CASE("api body: a whole answer becomes deltas", "[api][completion]") {
  struct Row {
    std::string name, body, log;
  };
  const std::vector<Row> rows = {
      {"reasoning and content",
       R"({"choices":[{"finish_reason":"stop","index":0,"message":{"content":"Paris.",)"
       R"("reasoning_content":"France's capital.","role":"assistant"}}],"created":1773349362,)"
       R"("id":"20260313050242595b2cb031a74737","model":"glm-4.6",)"
       R"("request_id":"20260313050242595b2cb031a74737","usage":{"completion_tokens":12,)"
       R"("completion_tokens_details":{"reasoning_tokens":8},"prompt_tokens":10,)"
       R"("prompt_tokens_details":{"cached_tokens":0},"total_tokens":22}})",
       "reasoning:France's capital.\ncontent:Paris.\nusage:10/12/22 cached=0 reasoning=8\n"
       "finish:stop\nend\n"},
      {"tool calls, content null",
       R"({"choices":[{"finish_reason":"tool_calls","index":0,"message":{"content":null,)"
       R"("role":"assistant","tool_calls":[{"function":{"arguments":"{\"q\":1}","name":"f"},)"
       R"("id":"call_1","index":0,"type":"function"}]}}]})",
       "tool:0|call_1|function|f|{\"q\":1}\nfinish:tool_calls\nend\n"},
      {"sensitive", R"({"choices":[{"finish_reason":"sensitive","message":{"content":""}}]})",
       "finish:content_filter\nend\n"},
      {"no finish_reason", R"({"choices":[{"message":{"content":"x"}}]})", "content:x\nend\n"},
      {"network_error", R"({"choices":[{"finish_reason":"network_error","message":{}}]})",
       "failure:upstream_error transient\n"},
      {"error body", R"({"error":{"code":"1261","message":"Prompt exceeds max length"}})",
       "failure:context_length_exceeded client_fault\n"},
      {"missing choices", R"({"id":"x"})", "failure:upstream_bad_response transient\n"},
      {"empty choices", R"({"choices":[]})", "failure:upstream_bad_response transient\n"},
      {"message not an object", R"({"choices":[{"message":"x"}]})",
       "failure:upstream_bad_response transient\n"},
      {"not an object", "[]", "failure:upstream_bad_response transient\n"},
      {"malformed", R"({"choices":[)", "failure:upstream_bad_response transient\n"},
      {"empty", "", "failure:upstream_bad_response transient\n"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    RecordingSink sink;
    api::decode_completion(row.body, kWall, sink);
    CHECK(sink.log == row.log);
  }
}
