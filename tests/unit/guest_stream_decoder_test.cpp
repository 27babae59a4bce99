#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "upstream/guest/guest.h"

using namespace zproxy;

namespace {

// Records what a decoder delivers; checks that nothing follows the final call.
class Recorder final : public DeltaSink {
 public:
  void on_reasoning(std::string_view t) override { note('R', t), reasoning += t; }
  void on_content(std::string_view t) override { note('C', t), content += t; }
  void on_tool_call(const ToolCallDelta&) override { note('T', {}); }
  void on_usage(const Usage& u) override { note('U', {}), usage = u, ++usages; }
  void on_finish_reason(FinishReason r) override { note('F', {}), finish = r; }
  void on_end() override { note('E', {}), ++ends; }
  void on_failure(const UpstreamFailure& f) override { note('X', {}), failure = f, ++failures; }

  std::string reasoning, content;
  std::string order;  // one letter per call; consecutive R/C deltas collapse to one letter
  Usage usage;
  int usages = 0, ends = 0, failures = 0, after_final = 0, empty_deltas = 0;
  FinishReason finish = FinishReason::kStop;
  UpstreamFailure failure;

 private:
  void note(char kind, std::string_view text) {
    if (ends + failures > 0) ++after_final;
    if ((kind == 'R' || kind == 'C') && text.empty()) ++empty_deltas;
    if ((kind == 'R' || kind == 'C') && !order.empty() && order.back() == kind) return;
    order.push_back(kind);
  }
};

std::string sse(const std::vector<std::string>& payloads) {
  std::string out;
  for (const auto& p : payloads) out += "data: " + p + "\n\n";
  return out;
}

const std::string kThinkingExample = sse({
    R"({"type": "chat:completion", "data": {"delta_content": "<details type=\"reasoning\" done=\"false\" view=\"\" last_tool_call_name=\"\">\n<summary>Thinking…</summary>\n> 1.  **", "phase": "thinking"}})",
    R"({"type": "chat:completion", "data": {"delta_content": "Analyze", "phase": "thinking"}})",
    R"({"type": "chat:completion", "data": {"delta_content": " the request:**\n>", "phase": "thinking"}})",
    R"({"type": "chat:completion", "data": {"delta_content": "     *   The user", "phase": "thinking"}})",
    R"({"type": "chat:completion", "data": {"delta_content": " says \"Hi\".", "phase": "thinking"}})",
    R"({"type": "chat:completion", "data": {"delta_content": "\n> \n> 2.  **Plan:**", "phase": "thinking"}})",
    R"({"type": "chat:completion", "data": {"delta_content": " reply", "phase": "thinking"}})",
    R"({"type": "chat:completion", "data": {"delta_content": " briefly", "phase": "thinking"}})",
    R"({"type": "chat:completion", "data": {"delta_content": " and offer help.", "phase": "thinking"}})",
    R"({"type": "chat:completion", "data": {"edit_index": 32, "edit_content": "true\" duration=\"3\" view=\"\" last_tool_call_name=\"\">\n<summary>Thought for 3 seconds</summary>\n> 1.  **Analyze the request:**\n>     *   The user says \"Hi\".\n> \n> 2.  **Plan:** reply briefly and offer help.\n</details>\nHi there", "phase": "answer"}})",
    R"({"type": "chat:completion", "data": {"delta_content": "! How", "phase": "answer"}})",
    R"({"type": "chat:completion", "data": {"delta_content": " can I help", "phase": "answer"}})",
    R"({"type": "chat:completion", "data": {"delta_content": " you today?", "phase": "answer"}})",
    R"({"type": "chat:completion", "data": {"usage": {"prompt_tokens": 12, "completion_tokens": 58, "total_tokens": 70, "prompt_tokens_details": {"cached_tokens": 0}, "words": 231}, "phase": "other"}})",
    R"({"type": "chat:completion", "data": {"id": "chatcmpl-abc123xyz0", "object": "chat.completion.chunk", "created": 1759397407, "model": "GLM-4-6-API-V1", "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 12, "completion_tokens": 58, "total_tokens": 70, "prompt_tokens_details": {"cached_tokens": 0}, "words": 231}, "phase": "answer"}})",
    R"({"type": "chat:completion", "data": {"done": true, "delta_content": "", "phase": "done"}})",
    R"({"type": "chat:completion", "data": {"role": "assistant", "usage": {"prompt_tokens": 12, "completion_tokens": 58, "total_tokens": 70, "prompt_tokens_details": {"cached_tokens": 0}, "words": 231}, "message_id": "8719dc11-bd8f-4c79-a41a-b71867da334b", "done": true, "edit_index": 280, "edit_content": "", "phase": "other"}})",
});

const std::string kAnswerOnlyExample = sse({
    R"({"type": "chat:completion", "data": {"delta_content": "Paris", "phase": "answer"}})",
    R"({"type": "chat:completion", "data": {"delta_content": " is the capital", "phase": "answer"}})",
    R"({"type": "chat:completion", "data": {"usage": {"prompt_tokens": 15, "completion_tokens": 6, "total_tokens": 21}, "phase": "other"}})",
    R"({"type": "chat:completion", "data": {"done": true, "delta_content": "", "phase": "done"}})",
});

const std::string kExpectedReasoning =
    "1.  **Analyze the request:**\n    *   The user says \"Hi\".\n\n2.  **Plan:** reply briefly "
    "and offer help.";
const std::string kExpectedContent = "Hi there! How can I help you today?";

Recorder decode_split(std::string_view bytes, size_t split) {
  Recorder rec;
  guest::StreamDecoder dec;
  dec.feed(bytes.substr(0, split), rec);
  dec.feed(bytes.substr(split), rec);
  dec.finish(rec);
  return rec;
}

Recorder decode_bytewise(std::string_view bytes) {
  Recorder rec;
  guest::StreamDecoder dec;
  for (char c : bytes) dec.feed(std::string_view(&c, 1), rec);
  dec.finish(rec);
  return rec;
}

Recorder decode(std::string_view bytes) {
  return decode_split(bytes, bytes.size());
}

void check_thinking_example(const Recorder& rec) {
  CHECK(rec.reasoning == kExpectedReasoning);
  CHECK(rec.content == kExpectedContent);
  CHECK(rec.order == "RCUFE");
  CHECK(rec.ends == 1);
  CHECK(rec.failures == 0);
  CHECK(rec.after_final == 0);
  CHECK(rec.empty_deltas == 0);
  CHECK(rec.usage.prompt_tokens == 12);
  CHECK(rec.usage.completion_tokens == 58);
  CHECK(rec.usage.total_tokens == 70);
  CHECK(rec.usage.cached_tokens == 0);
}

}  // namespace

TEST_CASE("guest decoder: thinking worked example, whole", "[guest][decoder]") {
  check_thinking_example(decode(kThinkingExample));
}

TEST_CASE("guest decoder: thinking worked example at every split point", "[guest][decoder]") {
  for (size_t split = 0; split <= kThinkingExample.size(); ++split) {
    INFO("split at " << split);
    check_thinking_example(decode_split(kThinkingExample, split));
  }
}

TEST_CASE("guest decoder: thinking worked example one byte at a time", "[guest][decoder]") {
  check_thinking_example(decode_bytewise(kThinkingExample));
}

TEST_CASE("guest decoder: answer-only worked example", "[guest][decoder]") {
  auto check = [](const Recorder& rec) {
    CHECK(rec.reasoning.empty());
    CHECK(rec.content == "Paris is the capital");
    CHECK(rec.order == "CUE");
    CHECK(rec.usage.prompt_tokens == 15);
    CHECK(rec.usage.total_tokens == 21);
    CHECK(rec.usage.cached_tokens == -1);
    CHECK(rec.after_final == 0);
  };
  for (size_t split = 0; split <= kAnswerOnlyExample.size(); ++split) {
    INFO("split at " << split);
    check(decode_split(kAnswerOnlyExample, split));
  }
  check(decode_bytewise(kAnswerOnlyExample));
}

TEST_CASE("guest decoder: end markers", "[guest][decoder]") {
  const std::string body = R"({"data": {"delta_content": "ok"}, "type": "chat:completion"})";
  SECTION("[DONE]") {
    Recorder rec = decode(sse({body}) + "data: [DONE]\n\n");
    CHECK(rec.content == "ok");
    CHECK(rec.ends == 1);
  }
  SECTION("phase done without done flag") {
    Recorder rec = decode(sse({body, R"({"type": "chat:completion", "data": {"phase": "done"}})"}));
    CHECK(rec.ends == 1);
  }
  SECTION("bare data object without envelope") {
    Recorder rec = decode(sse({R"({"delta_content": "a"})", R"({"done": true})"}));
    CHECK(rec.content == "a");
    CHECK(rec.ends == 1);
  }
  SECTION("events after the end are ignored") {
    Recorder rec = decode(
        sse({R"({"delta_content": "a", "done": true})", R"({"delta_content": "b"})", "not json"}));
    CHECK(rec.content == "a");
    CHECK(rec.order == "CE");
  }
  SECTION("other envelope types are not the answer") {
    Recorder rec = decode(sse({R"({"type": "chat:title", "data": {"delta_content": "Title"}})",
                               R"({"delta_content": "a", "done": true})"}));
    CHECK(rec.content == "a");
  }
}

TEST_CASE("guest decoder: failures", "[guest][decoder]") {
  SECTION("no end marker is truncation") {
    Recorder rec = decode(sse({R"({"delta_content": "partial"})"}));
    CHECK(rec.content == "partial");
    CHECK(rec.failures == 1);
    CHECK(rec.failure.error.code == Errc::kUpstreamTruncated);
    CHECK(rec.failure.error.message == "upstream closed the stream before the end of the answer");
    CHECK(rec.failure.verdict == Verdict::kTransient);
  }
  SECTION("malformed JSON mid-stream") {
    Recorder rec = decode(sse({R"({"delta_content": "a"})", "{oops", R"({"done": true})"}));
    CHECK(rec.failures == 1);
    CHECK(rec.ends == 0);
    CHECK(rec.failure.error.code == Errc::kUpstreamBadResponse);
    CHECK(rec.failure.verdict == Verdict::kTransient);
    CHECK(rec.after_final == 0);
  }
  SECTION("a JSON event that is not an object") {
    Recorder rec = decode(sse({"[1,2]"}));
    CHECK(rec.failure.error.code == Errc::kUpstreamBadResponse);
  }
  SECTION("negative edit index") {
    Recorder rec = decode(sse({R"({"edit_index": -1, "edit_content": "x"})"}));
    CHECK(rec.failure.error.code == Errc::kUpstreamBadResponse);
  }
  SECTION("SSE line over the limit") {
    Recorder rec;
    guest::StreamDecoder dec(SseLimits{64, 64});
    dec.feed("data: " + std::string(100, 'x'), rec);
    dec.finish(rec);
    CHECK(rec.failures == 1);
    CHECK(rec.failure.error.code == Errc::kUpstreamBadResponse);
  }
  SECTION("message buffer cap") {
    Recorder rec;
    guest::StreamDecoder dec(SseLimits{}, 10);
    dec.feed(sse({R"({"delta_content": "12345"})", R"({"delta_content": "67890"})",
                  R"({"delta_content": "!"})"}),
             rec);
    CHECK(rec.content == "1234567890");
    CHECK(rec.failures == 1);
    CHECK(rec.failure.error.code == Errc::kUpstreamBadResponse);
    CHECK(dec.ended());
  }
  SECTION("error frame after content") {
    Recorder rec = decode(sse(
        {R"({"delta_content": "Hel"})",
         R"({"type": "chat:completion", "data": {"error": {"detail": "Internal error", "code": 500}}})"}));
    CHECK(rec.content == "Hel");
    CHECK(rec.order == "CX");
    CHECK(rec.failure.verdict == Verdict::kTransient);
    CHECK(rec.failure.error.code == Errc::kUpstreamError);
  }
}

TEST_CASE("guest decoder: a stream cut inside an event is truncated", "[guest][decoder]") {
  // A cut event is dropped whole, whatever its data (an end marker or an error frame too): the
  // answer is what the complete events said, and it lacks its end.
  const std::string a = sse({R"({"type": "chat:completion", "data": {"delta_content": "a"}})"});
  const std::string done = R"(data: {"type": "chat:completion", "data": {"delta_content": "b", )"
                           R"("done": true, "phase": "done"}})";
  struct Row {
    const char* name;
    std::string bytes;
    std::string content;  // what reached the sink before the failure
    Errc code;
  };
  const std::vector<Row> rows = {
      {"inside a data line", a + done.substr(0, 40), "a", Errc::kUpstreamTruncated},
      {"inside the first data line", done.substr(0, 40), "", Errc::kUpstreamTruncated},
      {"inside an end frame's data line", a + done, "a", Errc::kUpstreamTruncated},
      {"after an end frame's data line, before its blank line", a + done + "\n", "a",
       Errc::kUpstreamTruncated},
      {"after its data line's CRLF", a + done + "\r\n", "a", Errc::kUpstreamTruncated},
      {"after a data line that is half a JSON text", a + "data: {\"delta_content\":\n", "a",
       Errc::kUpstreamTruncated},
      {"[DONE] without its blank line", a + "data: [DONE]\n", "a", Errc::kUpstreamTruncated},
      {"an error frame without its blank line",
       a + R"(data: {"error": {"detail": "client version too old", "code": 426}})" + "\n", "a",
       Errc::kUpstreamTruncated},
      {"a complete event that does not parse", a + sse({"{oops"}), "a", Errc::kUpstreamBadResponse},
      {"a complete event that does not parse, then a cut one",
       a + sse({"{oops"}) + done.substr(0, 40), "a", Errc::kUpstreamBadResponse},
      {"a complete event that is half a JSON text", a + "data: {\"delta_content\":\n\n", "a",
       Errc::kUpstreamBadResponse},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    auto check = [&](const Recorder& rec) {
      CHECK(rec.content == row.content);
      CHECK(rec.ends == 0);
      CHECK(rec.failures == 1);
      CHECK(rec.failure.error.code == row.code);
      CHECK(rec.failure.verdict == Verdict::kTransient);
      CHECK(rec.after_final == 0);
    };
    for (size_t split = 0; split <= row.bytes.size(); ++split) {
      INFO("split at " << split);
      check(decode_split(row.bytes, split));
    }
    check(decode_bytewise(row.bytes));
  }
}

TEST_CASE("guest decoder: in-stream error frames", "[guest][decoder]") {
  struct Row {
    std::string frame;
    Verdict verdict;
    Errc code;
  };
  const std::vector<Row> rows = {
      {R"({"type": "chat:completion", "data": {"error": {"detail": "client version too old", "code": 426}}})",
       Verdict::kUpstreamWide, Errc::kUpstreamRejected},
      {R"({"type": "chat:completion", "data": {"data": {"error": {"detail": "FRONTEND_CAPTCHA_REQUIRED", "code": 400}}}})",
       Verdict::kUpstreamWide, Errc::kUpstreamRejected},
      {R"({"type": "chat:completion", "data": {"error": {"code": "FRONTEND_CAPTCHA_REQUIRED"}}})",
       Verdict::kUpstreamWide, Errc::kUpstreamRejected},
      {R"({"type": "chat:completion", "data": {"error": {"detail": "Model not available for current user level", "code": 403}}})",
       Verdict::kClientFault, Errc::kModelNotAvailable},
      {R"({"error": {"detail": "Too many concurrent requests", "code": 400}})", Verdict::kCooldown,
       Errc::kRateLimitExceeded},
      {R"({"detail": "Unauthorized"})", Verdict::kTransient, Errc::kUpstreamError},
      {R"({"error": {"message": "token expired", "code": "401"}})", Verdict::kDead,
       Errc::kUpstreamError},
  };
  for (const Row& row : rows) {
    INFO(row.frame);
    Recorder rec = decode(sse({row.frame}));
    CHECK(rec.failures == 1);
    CHECK(rec.failure.verdict == row.verdict);
    CHECK(rec.failure.error.code == row.code);
    CHECK(rec.failure.error.message.find('<') == std::string::npos);
  }
}

TEST_CASE("guest decoder: usage and finish reason", "[guest][decoder]") {
  Recorder rec = decode(sse({
      R"({"delta_content": "a", "usage": {"prompt_tokens": 1, "completion_tokens": 2}})",
      R"({"usage": {"prompt_tokens": 1, "completion_tokens": 2}})",
      R"({"choices": [{"finish_reason": "length"}], "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4, "prompt_tokens_details": {"cached_tokens": 1}}})",
      R"({"done": true})",
  }));
  CHECK(rec.usages == 2);  // the identical repeat is not reported again
  CHECK(rec.usage.total_tokens == 4);
  CHECK(rec.usage.cached_tokens == 1);
  CHECK(rec.finish == FinishReason::kLength);
}

TEST_CASE("guest decoder: move keeps state", "[guest][decoder]") {
  Recorder rec;
  guest::StreamDecoder a;
  a.feed(sse({R"({"delta_content": "x"})"}), rec);
  guest::StreamDecoder b(std::move(a));
  CHECK(a.ended());
  b.feed(sse({R"({"done": true})"}), rec);
  CHECK(rec.content == "x");
  CHECK(rec.ends == 1);
}
