#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "upstream/guest/message_buffer.h"
#include "upstream/guest/reasoning_splitter.h"

using namespace zproxy;
using guest::MessageBuffer;
using guest::ReasoningSplitter;

namespace {

class TextRecorder final : public DeltaSink {
 public:
  void on_reasoning(std::string_view t) override { note('R', t), reasoning += t; }
  void on_content(std::string_view t) override { note('C', t), content += t; }
  void on_tool_call(const ToolCallDelta&) override {}
  void on_usage(const Usage&) override {}
  void on_finish_reason(FinishReason) override {}
  void on_end() override {}
  void on_failure(const UpstreamFailure&) override {}

  std::string reasoning, content, order;  // order: R/C per run of same-channel deltas
  int empty = 0;

 private:
  void note(char kind, std::string_view t) {
    if (t.empty()) ++empty;
    if (order.empty() || order.back() != kind) order.push_back(kind);
  }
};

// Drives a buffer and a splitter the way the decoder does.
struct Harness {
  MessageBuffer m{size_t{1} << 26};
  ReasoningSplitter splitter;
  TextRecorder out;

  void append(std::string_view text) {
    const size_t old = m.size();
    REQUIRE(m.append(text));
    splitter.invalidate_from(old);
    splitter.render(m.view(), out);
  }
  void edit(uint64_t cp, std::string_view text) {
    size_t at = 0;
    REQUIRE(m.replace_from(cp, text, at));
    splitter.invalidate_from(at);
    splitter.render(m.view(), out);
  }
  void finish() { splitter.finish(m.view(), out); }
};

bool starts_code_point(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
}

struct Expect {
  std::string reasoning, content, order;
};

void check(const TextRecorder& out, const Expect& e) {
  CHECK(out.reasoning == e.reasoning);
  CHECK(out.content == e.content);
  CHECK(out.order == e.order);
  CHECK(out.empty == 0);
}

// The whole M at once, split in two at every code-point boundary, and one code point at a time.
void check_all_slicings(const std::string& m, const Expect& e) {
  for (size_t split = 0; split <= m.size(); ++split) {
    if (split < m.size() && !starts_code_point(m[split])) continue;
    INFO("split at " << split);
    Harness h;
    h.append(m.substr(0, split));
    h.append(m.substr(split));
    h.finish();
    check(h.out, e);
  }
  Harness h;
  for (size_t i = 0; i < m.size();) {
    size_t n = 1;
    while (i + n < m.size() && !starts_code_point(m[i + n])) ++n;
    h.append(m.substr(i, n));
    i += n;
  }
  h.finish();
  INFO("one code point at a time");
  check(h.out, e);
}

}  // namespace

TEST_CASE("guest splitter: grammar table", "[guest][splitter]") {
  struct Row {
    const char* name;
    std::string m;
    Expect e;
  };
  const std::vector<Row> rows = {
      {"plain content with markup-like text",
       "Hello <b>world</b> a < b <det",
       {"", "Hello <b>world</b> a < b <det", "C"}},
      {"reasoning with summary",
       "<details type=\"reasoning\" done=\"true\" duration=\"1\">\n<summary>Thought for 1 "
       "seconds</summary>\n> line1\n> \n>line2\n>\n> line4\n</details>\nAnswer",
       {"line1\n\n>line2\n\nline4", "Answer", "RC"}},
      {"old wrapper without summary",
       "<details type=\"reasoning\" done=\"false\">\n> think\n> more\n</details>\nok",
       {"think\nmore", "ok", "RC"}},
      {"several thinking rounds",
       "<details type=\"reasoning\" done=\"true\">\n<summary>a</summary>\n> r1\n</details>\nc1 "
       "<details type=\"reasoning\" done=\"true\">\n<summary>b</summary>\n> r2\n</details>\nc2",
       {"r1r2", "c1 c2", "RCRC"}},
      {"glm_block island hidden",
       "before<glm_block view=\"\" tool_call_name=\"search\">{\"q\":\"</details> <details "
       "type=\\\"reasoning\\\">\"}</glm_block>after",
       {"", "beforeafter", "C"}},
      {"island inside reasoning",
       "<details type=\"reasoning\">\n> a<glm_block x>hidden</glm_block>b\n</details>\nc",
       {"ab", "c", "RC"}},
      {"other details are content",
       "<details>\n<summary>x</summary>\nbody\n</details>\nend",
       {"", "<details>\n<summary>x</summary>\nbody\n</details>\nend", "C"}},
      {"single-quoted type", "<details type='reasoning'>\n> q\n</details>\nA", {"q", "A", "RC"}},
      {"not a details tag",
       "<detailsx type=\"reasoning\">\n> q",
       {"", "<detailsx type=\"reasoning\">\n> q", "C"}},
      {"only one newline after </details> is dropped",
       "<details type=\"reasoning\">\n> r\n</details>\n\nX",
       {"r", "\nX", "RC"}},
      {"no newline before </details>",
       "<details type=\"reasoning\">\n> r</details>X",
       {"r", "X", "RC"}},
      {"empty reasoning block", "<details type=\"reasoning\"></details>\nA", {"", "A", "C"}},
      {"unterminated block at the end: final newline dropped",
       "<details type=\"reasoning\">\n<summary>Thinking…</summary>\n> abc\n",
       {"abc", "", "R"}},
      {"unterminated block ending in a quote marker",
       "<details type=\"reasoning\">\n> abc\n>",
       {"abc\n", "", "R"}},
      {"partial tag at the end is text",
       "Hi <details type=\"reas",
       {"", "Hi <details type=\"reas", "C"}},
      {"CJK and emoji",
       "<details type=\"reasoning\">\n> 想一想😀\n</details>\n你好，世界🌍",
       {"想一想😀", "你好，世界🌍", "RC"}},
      {"unterminated island hides the rest", "a<glm_block>{\"x\":1", {"", "a", "C"}},
  };
  for (const Row& row : rows) {
    SECTION(row.name) {
      check_all_slicings(row.m, row.e);
    }
  }
}

TEST_CASE("guest splitter: a closing edit that repeats the reasoning", "[guest][splitter]") {
  const std::string open =
      "<details type=\"reasoning\" done=\"false\" view=\"\">\n<summary>Thinking…</summary>\n";
  std::string body;  // long enough to cross several checkpoints
  for (int i = 0; i < 400; ++i) body += "> line " + std::to_string(i) + " ünïcödé 😀\n";
  body.pop_back();
  Harness h;
  h.append(open);
  for (size_t i = 0; i < body.size(); i += 7) h.append(body.substr(i, 7));
  const std::string sent = h.out.reasoning;
  CHECK(h.out.content.empty());
  h.edit(32, "true\" duration=\"3\" view=\"\">\n<summary>Thought for 3 seconds</summary>\n" + body +
                 "\n</details>\nThe answer");
  CHECK(h.out.reasoning == sent);
  CHECK(h.out.content == "The answer");
  h.append(" continues");
  h.finish();
  CHECK(h.out.content == "The answer continues");
  CHECK(h.out.order == "RC");
  CHECK(h.out.reasoning.find("line 399 ünïcödé 😀") != std::string::npos);
  CHECK(h.out.reasoning.find('>') == std::string::npos);
}

TEST_CASE("guest splitter: edits", "[guest][splitter]") {
  Harness h;
  SECTION("edit after astral-plane emoji continues emitted content") {
    h.append("😀😀 hello");
    h.edit(3, "hello there");  // code point 3 is byte 9
    h.finish();
    check(h.out, {"", "😀😀 hello there", "C"});
  }
  SECTION("edit that changes sent reasoning: not re-sent, later text is") {
    h.append("<details type=\"reasoning\">\n> hello world");
    h.edit(0, "<details type=\"reasoning\">\n> hello there\n</details>\nAnswer");
    h.append(" more");
    h.finish();
    check(h.out, {"hello world", "Answer more", "RC"});
  }
  SECTION("edit that shortens sent text: the re-grown text is not sent twice") {
    h.append("<details type=\"reasoning\">\n> abcdef");
    h.edit(32, "");  // M ends "> abc"
    CHECK(h.out.reasoning == "abcdef");
    h.append("def ghi");
    h.finish();
    check(h.out, {"abcdef ghi", "", "R"});
  }
  SECTION("edit rewriting a glm_block island as it grows") {
    h.append("Searching.");
    h.edit(10, "<glm_block tool_call_name=\"search\">{\"results\": [");
    h.edit(10, "<glm_block tool_call_name=\"search\">{\"results\": [1, 2]}</glm_block>");
    h.append("Found it.");
    h.finish();
    check(h.out, {"", "Searching.Found it.", "C"});
  }
  SECTION("held tail survives an edit at the end") {
    h.append("<details type=\"reasoning\">\n> a\n");
    CHECK(h.out.reasoning == "a");
    h.edit(1000, "</details>\nb");  // past the end: an append
    h.finish();
    check(h.out, {"a", "b", "RC"});
  }
}

TEST_CASE("guest splitter: work is linear in appended bytes", "[guest][splitter]") {
  // 300 KB in one-byte deltas: quadratic re-rendering would take minutes here.
  Harness h;
  h.append("<details type=\"reasoning\">\n");
  const std::string line = "> some reasoning text\n";
  for (int i = 0; i < 15000; ++i) {
    for (char c : line) h.append(std::string_view(&c, 1));
  }
  h.append("</details>\nok");
  h.finish();
  CHECK(h.out.reasoning.size() == 15000 * (line.size() - 2) - 1);
  CHECK(h.out.content == "ok");
}
