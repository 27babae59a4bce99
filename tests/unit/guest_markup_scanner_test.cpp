// The guest markup grammar (markup_scanner.h), driven directly: every form is scanned as M grows
// (split in two at every byte, and one byte at a time), and every step is checked against its
// contract: it consumes only what it examined, and the same bytes up to examined_end give the
// same decision.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "upstream/guest/markup_scanner.h"

using namespace zproxy::guest;

namespace {

bool same_state(const ScanState& a, const ScanState& b) {
  return a.mode == b.mode && a.island_return == b.island_return && a.line_start == b.line_start &&
         a.skip_newline == b.skip_newline;
}

bool same_step(const ScanStep& a, const ScanStep& b) {
  return a.need_more == b.need_more && a.consumed == b.consumed &&
         a.examined_end == b.examined_end && a.channel == b.channel && a.out_begin == b.out_begin &&
         a.out_len == b.out_len;
}

// Scans a growing M the way ReasoningSplitter does and records the channels as "R[…]C[…]"
// (adjacent output of one channel merged).
class Driver {
 public:
  // Scans m (which extends every earlier m) until the scanner needs more bytes.
  void scan(std::string_view m) {
    for (int guard = 0; guard < 1'000'000; ++guard) {
      const ScanState before = state_;
      const ScanStep step = scan_step(m, pos_, state_);
      if (step.need_more) {
        CHECK(same_state(before, state_));
        return;
      }
      check_contract(m, before, step);
      // A step that consumes nothing must move the state on, or the scan would loop.
      REQUIRE((step.consumed > 0 || !same_state(before, state_)));
      apply(m, step);
    }
    FAIL("the scan did not settle");
  }

  void finish(std::string_view m) {
    scan(m);
    if (pos_ == m.size()) return;
    const ScanStep step = scan_tail(m, pos_, state_);
    CHECK_FALSE(step.need_more);
    CHECK(step.consumed == m.size() - pos_);
    CHECK(step.examined_end == m.size());
    apply(m, step);
  }

  const std::string& out() const { return out_; }
  const ScanState& state() const { return state_; }

 private:
  void check_contract(std::string_view m, const ScanState& before, const ScanStep& step) const {
    INFO("step at " << pos_ << " of " << m.size());
    CHECK(step.consumed <= m.size() - pos_);
    CHECK(step.examined_end >= pos_ + step.consumed);
    CHECK(step.examined_end <= m.size());
    if (step.out_len > 0) {
      CHECK(step.out_begin >= pos_);
      CHECK(step.out_begin + step.out_len <= pos_ + step.consumed);
    }
    // The decision depends on M[0, examined_end) only: those bytes alone decide the same.
    ScanState again = before;
    const ScanStep cut = scan_step(m.substr(0, step.examined_end), pos_, again);
    CHECK(same_step(cut, step));
    CHECK(same_state(again, state_));
  }

  void apply(std::string_view m, const ScanStep& step) {
    if (step.out_len > 0) {
      const char tag = step.channel == Channel::kReasoning ? 'R' : 'C';
      if (out_.empty() || out_[last_open_] != tag) {
        last_open_ = out_.size();
        out_ += tag;
        out_ += "[]";
      }
      out_.insert(out_.size() - 1, m.substr(step.out_begin, step.out_len));
    }
    pos_ += step.consumed;
  }

  size_t pos_ = 0;
  ScanState state_;
  std::string out_;
  size_t last_open_ = 0;
};

struct Outcome {
  std::string out;
  ScanMode final_mode;  // the mode once all of M was scanned, before the tail
};

// M whole, split in two at every byte, and one byte at a time: all give `want`.
void check_all_splits(const std::string& m, const Outcome& want) {
  for (size_t split = 0; split <= m.size(); ++split) {
    INFO("split at byte " << split);
    Driver d;
    d.scan(std::string_view(m).substr(0, split));
    d.scan(m);
    CHECK(d.state().mode == want.final_mode);
    d.finish(m);
    CHECK(d.out() == want.out);
  }
  INFO("one byte at a time");
  Driver d;
  for (size_t end = 0; end <= m.size(); ++end) d.scan(std::string_view(m).substr(0, end));
  CHECK(d.state().mode == want.final_mode);
  d.finish(m);
  CHECK(d.out() == want.out);
}

constexpr const char* kOpen = "<details type=\"reasoning\" done=\"true\" duration=\"2\">";

std::string reasoning(const std::string& head_and_body) {
  return kOpen + head_and_body;
}

}  // namespace

TEST_CASE("guest markup scanner: every form at every split point", "[guest][markup]") {
  struct Row {
    const char* name;
    std::string m;
    Outcome want;
  };
  const ScanMode kC = ScanMode::kContent;
  const ScanMode kR = ScanMode::kReasoning;
  const std::string long_attr(5000, 'a');
  const std::vector<Row> rows = {
      // Text.
      {"plain text", "Hello, world", {"C[Hello, world]", kC}},
      {"markup-like text is content",
       "a < b <b>x</b> <summary>s</summary> </details> <glm",
       {"C[a < b <b>x</b> <summary>s</summary> </details> <glm]", kC}},
      {"a longer tag name is not the tag",
       "<detailsx type=\"reasoning\">x<glm_blockx>y",
       {"C[<detailsx type=\"reasoning\">x<glm_blockx>y]", kC}},
      {"partial open tag at the end is content",
       "Hi <details type=\"reas",
       {"C[Hi <details type=\"reas]", kC}},
      // Reasoning blocks: head, body, close.
      {"summary, quote prefixes, close, answer",
       reasoning("\n<summary>Thought for 2 seconds</summary>\n> line1\n> \n>line2\n>\n> "
                 "line4\n</details>\nAnswer"),
       {"R[line1\n\n>line2\n\nline4]C[Answer]", kC}},
      {"no summary", reasoning("\n> think\n> more\n</details>\nok"), {"R[think\nmore]C[ok]", kC}},
      {"head without newlines",
       reasoning("<summary>s</summary>body</details>after"),
       {"R[body]C[after]", kC}},
      {"summary with attributes",
       reasoning("\n<summary class=\"x\">Thinking…</summary>\n> a\n</details>\nb"),
       {"R[a]C[b]", kC}},
      {"single-quoted type", "<details type='reasoning'>\n> q\n</details>\nA", {"R[q]C[A]", kC}},
      {"type after a tab or newline",
       "<details\ttype=\"reasoning\">\n> t\n</details>\n<details\ntype=\"reasoning\">\n> n",
       {"R[tn]", kR}},
      {"type must be a whole attribute",
       "<details data-type=\"reasoning\">x</details>\ny",
       {"C[<details data-type=\"reasoning\">x</details>\ny]", kC}},
      {"other details tags and their close are content",
       "<details>\n<summary>x</summary>\nbody\n</details>\nend<details type=\"tool\">z",
       {"C[<details>\n<summary>x</summary>\nbody\n</details>\nend<details type=\"tool\">z]", kC}},
      {"a self-closing details tag is content", "<details/>a", {"C[<details/>a]", kC}},
      {"quote prefix only at a line start",
       reasoning("\n> a > b\n>> c\n> > e\n>\td\n</details>\n"),
       {"R[a > b\n>> c\n> e\n>\td]", kC}},
      {"CR is body text", reasoning("\n> a\r\n> b\r\n</details>\n"), {"R[a\r\nb\r]", kC}},
      {"close without a newline before it", reasoning("\n> r</details>X"), {"R[r]C[X]", kC}},
      {"only one newline after the close is dropped",
       reasoning("\n> r\n</details>\n\nX"),
       {"R[r]C[\nX]", kC}},
      {"empty block", reasoning("</details>\nA"), {"C[A]", kC}},
      {"empty block with summary", reasoning("\n<summary>s</summary>\n</details>"), {"", kC}},
      {"blocks do not nest: the first close ends it",
       reasoning("\n> a <details>x</details>\n> b"),
       {"R[a <details>x]C[> b]", kC}},
      {"several rounds interleave",
       reasoning("\n<summary>a</summary>\n> r1\n</details>\nc1 ") +
           reasoning("\n<summary>b</summary>\n> r2\n</details>\nc2"),
       {"R[r1]C[c1 ]R[r2]C[c2]", kC}},
      {"UTF-8 passes through",
       reasoning("\n> 想一想😀\n</details>\n你好，世界🌍"),
       {"R[想一想😀]C[你好，世界🌍]", kC}},
      // glm_block islands are hidden wherever they are.
      {"island in content",
       "before<glm_block view=\"\" tool_call_name=\"search\">{\"q\":\"</details> <details "
       "type=\\\"reasoning\\\">\"}</glm_block>after",
       {"C[beforeafter]", kC}},
      {"island tag ends at >", "a<glm_block>x</glm_block>b", {"C[ab]", kC}},
      {"island inside reasoning",
       reasoning("\n> a<glm_block x>hidden</glm_block>b\n</details>\nc"),
       {"R[ab]C[c]", kC}},
      {"island at a body line start keeps the line start",
       reasoning("\n> a\n<glm_block>x</glm_block>> b\n</details>"),
       {"R[a\nb]", kC}},
      {"a long island is kept back only by its close's length",
       "x<glm_block>" + std::string(40, 'y') + "</glm_block" + std::string(40, 'z') +
           "</glm_block>w",
       {"C[xw]", kC}},
      // What the end of M means when no more bytes come (scan_tail).
      {"unterminated block: final newline dropped",
       reasoning("\n<summary>Thinking…</summary>\n> abc\n"),
       {"R[abc]", kR}},
      {"unterminated block: final line-start > dropped", reasoning("\n> abc\n>"), {"R[abc\n]", kR}},
      {"unterminated block: a partial close is text",
       reasoning("\n> abc\n</deta"),
       {"R[abc\n</deta]", kR}},
      {"unterminated block: a partial island is text",
       reasoning("\n> abc<glm_bl"),
       {"R[abc<glm_bl]", kR}},
      {"unterminated summary is dropped",
       reasoning("\n<summary>Thinking"),
       {"", ScanMode::kHeadSummary}},
      {"a bare open tag", kOpen, {"", ScanMode::kHeadNewline}},
      {"open tag and newline", reasoning("\n"), {"", ScanMode::kHeadSummary}},
      {"unterminated island hides the rest", "a<glm_block>{\"x\":1", {"C[a]", ScanMode::kIsland}},
      {"unterminated island in reasoning",
       reasoning("\n> a<glm_block>{"),
       {"R[a]", ScanMode::kIsland}},
      {"close tag then end", reasoning("\n> a\n</details>"), {"R[a]", kC}},
      // Look-ahead is bounded by kMaxTagBytes.
      {"a details tag longer than kMaxTagBytes is content",
       "<details " + long_attr + " type=\"reasoning\">\n> x",
       {"C[<details " + long_attr + " type=\"reasoning\">\n> x]", kC}},
      {"a summary longer than kMaxTagBytes is body",
       reasoning("\n<summary>" + long_attr + "</summary>\n> b\n</details>"),
       {"R[<summary>" + long_attr + "</summary>\nb]", kC}},
  };
  for (const Row& row : rows) {
    SECTION(row.name) {
      check_all_splits(row.m, row.want);
    }
  }
}

TEST_CASE("guest markup scanner: the tag bound is exactly kMaxTagBytes", "[guest][markup]") {
  // An open tag of exactly kMaxTagBytes bytes (its ">" the last byte) opens a block; one more
  // byte and the tag is content.
  const std::string prefix = "<details type=\"reasoning\" pad=\"";
  const std::string fits = prefix + std::string(kMaxTagBytes - prefix.size() - 2, 'p') + "\">";
  REQUIRE(fits.size() == kMaxTagBytes);
  const std::string too_long = prefix + std::string(kMaxTagBytes - prefix.size() - 1, 'p') + "\">";
  for (const auto& [tag, want] :
       {std::pair{fits, std::string("R[x]")}, std::pair{too_long, "C[" + too_long + "\n> x]"}}) {
    INFO("tag of " << tag.size() << " bytes");
    Driver d;
    const std::string m = tag + "\n> x";
    d.scan(m);
    d.finish(m);
    CHECK(d.out() == want);
  }
  // A summary whose "</summary>" ends exactly at kMaxTagBytes is the wrapper's; one byte later
  // it is body text.
  const std::string open = "<summary>";
  const std::string close = "</summary>";
  for (const size_t filler :
       {kMaxTagBytes - open.size() - close.size(), kMaxTagBytes - open.size() - close.size() + 1}) {
    const bool wrapper = open.size() + filler + close.size() <= kMaxTagBytes;
    INFO("summary of " << open.size() + filler + close.size() << " bytes");
    const std::string summary = open + std::string(filler, 's') + close;
    const std::string m = reasoning("\n" + summary + "\n> b\n</details>");
    Driver d;
    d.scan(m);
    d.finish(m);
    CHECK(d.out() == (wrapper ? "R[b]" : "R[" + summary + "\nb]"));
  }
}

TEST_CASE("guest markup scanner: single decisions", "[guest][markup]") {
  // One scan_step on m at pos from a state: need_more, or what it consumed, examined, emitted.
  struct Row {
    const char* name;
    ScanState state;
    std::string m;
    size_t pos;
    ScanStep want;
    ScanMode mode_after;
  };
  const ScanState content{};
  const ScanState after_close{.skip_newline = true};
  const ScanState body{.mode = ScanMode::kReasoning, .line_start = false};
  const ScanState body_line_start{.mode = ScanMode::kReasoning, .line_start = true};
  const ScanState island{.mode = ScanMode::kIsland, .island_return = ScanMode::kReasoning};
  const ScanState head{.mode = ScanMode::kHeadNewline};
  const ScanState summary{.mode = ScanMode::kHeadSummary};
  const ScanStep more{.need_more = true};
  const auto advance = [](size_t consumed, size_t examined) {
    return ScanStep{.consumed = consumed, .examined_end = examined};
  };
  const auto emit = [](Channel ch, size_t begin, size_t len, size_t examined) {
    return ScanStep{.consumed = len,
                    .examined_end = examined,
                    .channel = ch,
                    .out_begin = begin,
                    .out_len = len};
  };
  const Channel kC = Channel::kContent;
  const Channel kR = Channel::kReasoning;
  const std::vector<Row> rows = {
      {"content: nothing to scan", content, "ab", 2, more, ScanMode::kContent},
      {"content: a text run stops before <", content, "ab<x", 0, emit(kC, 0, 2, 2),
       ScanMode::kContent},
      {"content: a text run to the end", content, "xabc", 1, emit(kC, 1, 3, 4), ScanMode::kContent},
      {"content: lone <", content, "<", 0, more, ScanMode::kContent},
      {"content: <detail", content, "<detail", 0, more, ScanMode::kContent},
      {"content: <details needs its delimiter", content, "<details", 0, more, ScanMode::kContent},
      {"content: <details needs its >", content, "<details type", 0, more, ScanMode::kContent},
      {"content: <glm_block needs its delimiter", content, "<glm_block", 0, more,
       ScanMode::kContent},
      {"content: < of no tag is one byte", content, "<b>bold</b>", 0, emit(kC, 0, 1, 11),
       ScanMode::kContent},
      {"content: < of no tag looks 12 bytes ahead", content, "<b>bold text here", 0,
       emit(kC, 0, 1, 12), ScanMode::kContent},
      {"content: reasoning open tag", content, "<details type=\"reasoning\">\n", 0, advance(26, 26),
       ScanMode::kHeadNewline},
      {"content: other details tag", content, "<details open>x", 0, emit(kC, 0, 14, 14),
       ScanMode::kContent},
      {"content: island open", content, "<glm_block a=\"b\">", 0, advance(10, 11),
       ScanMode::kIsland},
      {"content: newline after a close dropped", after_close, "\nx", 0, advance(1, 1),
       ScanMode::kContent},
      {"content: no newline after a close", after_close, "x", 0, advance(0, 1), ScanMode::kContent},
      {"head: waits for its first byte", head, "", 0, more, ScanMode::kHeadNewline},
      {"head: newline", head, "\n<", 0, advance(1, 1), ScanMode::kHeadSummary},
      {"head: no newline", head, "<", 0, advance(0, 1), ScanMode::kHeadSummary},
      {"summary: partial open", summary, "<summ", 0, more, ScanMode::kHeadSummary},
      {"summary: open without close", summary, "<summary>Thinking", 0, more,
       ScanMode::kHeadSummary},
      {"summary: whole", summary, "<summary>s</summary>\n", 0, advance(20, 20),
       ScanMode::kSummaryNewline},
      {"summary: none", summary, "> body", 0, advance(0, 6), ScanMode::kReasoning},
      {"body: text run stops at newline", body, "ab\ncd", 0, emit(kR, 0, 2, 2),
       ScanMode::kReasoning},
      {"body: newline at the end waits", body, "a\n", 1, more, ScanMode::kReasoning},
      {"body: newline before a partial close waits", body, "\n</detai", 0, more,
       ScanMode::kReasoning},
      {"body: newline and text", body, "\nnext line", 0, emit(kR, 0, 1, 10), ScanMode::kReasoning},
      {"body: newline and close", body, "\n</details>\n", 0, advance(11, 11), ScanMode::kContent},
      {"body: close", body, "</details>", 0, advance(10, 10), ScanMode::kContent},
      {"body: island", body, "<glm_block>", 0, advance(10, 11), ScanMode::kIsland},
      {"body: other <", body, "<b>", 0, emit(kR, 0, 1, 3), ScanMode::kReasoning},
      {"body: line-start > waits", body_line_start, ">", 0, more, ScanMode::kReasoning},
      {"body: line-start > and space", body_line_start, "> a", 0, advance(2, 2),
       ScanMode::kReasoning},
      {"body: line-start > ending the line", body_line_start, ">\n", 0, advance(1, 2),
       ScanMode::kReasoning},
      {"body: line-start > and text", body_line_start, ">a", 0, advance(0, 2),
       ScanMode::kReasoning},
      {"island: too short to hold its close", island, "0123456789a", 0, more, ScanMode::kIsland},
      {"island: keeps back a possible close", island, "0123456789ab</glm_bl", 0, advance(9, 20),
       ScanMode::kIsland},
      {"island: close", island, "ab</glm_block>c", 0, advance(14, 14), ScanMode::kReasoning},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    ScanState state = row.state;
    const ScanStep got = scan_step(row.m, row.pos, state);
    CHECK(got.need_more == row.want.need_more);
    CHECK(got.consumed == row.want.consumed);
    CHECK(got.examined_end == row.want.examined_end);
    CHECK(got.out_len == row.want.out_len);
    if (got.out_len > 0) {
      CHECK(got.channel == row.want.channel);
      CHECK(got.out_begin == row.want.out_begin);
    }
    CHECK(state.mode == row.mode_after);
  }
}

TEST_CASE("guest markup scanner: the tail at the end of the answer", "[guest][markup]") {
  struct Row {
    const char* name;
    ScanState state;
    std::string tail;
    bool emitted;  // else dropped
    Channel channel;
  };
  const ScanState content{};
  const ScanState body{.mode = ScanMode::kReasoning, .line_start = false};
  const ScanState line_start{.mode = ScanMode::kReasoning, .line_start = true};
  const std::vector<Row> rows = {
      {"content partial tag", content, "<details ty", true, Channel::kContent},
      {"content lone <", content, "<", true, Channel::kContent},
      {"body final newline", body, "\n", false, Channel::kReasoning},
      {"body newline and partial close", body, "\n</det", true, Channel::kReasoning},
      {"body partial close", body, "</det", true, Channel::kReasoning},
      {"body > mid-line", body, ">", true, Channel::kReasoning},
      {"body line-start >", line_start, ">", false, Channel::kReasoning},
      {"head", ScanState{.mode = ScanMode::kHeadNewline}, "", false, Channel::kContent},
      {"summary", ScanState{.mode = ScanMode::kHeadSummary}, "<summary>x", false,
       Channel::kContent},
      {"island", ScanState{.mode = ScanMode::kIsland}, "{\"a\":", false, Channel::kContent},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    const std::string m = "0123" + row.tail;
    const ScanStep got = scan_tail(m, 4, row.state);
    CHECK_FALSE(got.need_more);
    CHECK(got.consumed == row.tail.size());
    CHECK(got.examined_end == m.size());
    CHECK(got.out_len == (row.emitted ? row.tail.size() : 0));
    if (row.emitted) {
      CHECK(got.out_begin == 4);
      CHECK(got.channel == row.channel);
    }
  }
}
