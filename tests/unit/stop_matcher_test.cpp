#include "engine/stop_matcher.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using zproxy::StopMatcher;
using zproxy::StopScan;
using zproxy::utf8_complete_prefix;

namespace {

struct Run {
  std::string out;
  std::vector<std::string> released;  // what each feed released
  bool matched = false;
};

Run run_pieces(const std::vector<std::string>& stops, const std::vector<std::string>& pieces) {
  StopMatcher m(stops);
  Run r;
  for (const std::string& p : pieces) {
    std::string got;
    if (m.feed(p, got) == StopScan::kMatched) r.matched = true;
    r.released.push_back(got);
    r.out += got;
  }
  if (m.flush(r.out) == StopScan::kMatched) r.matched = true;
  REQUIRE(m.matched() == r.matched);
  return r;
}

// Well-formed UTF-8 (RFC 3629), checked independently of the code under test.
bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80                ? 1
               : c >= 0xC2 && c < 0xE0 ? 2
               : c >= 0xE0 && c < 0xF0 ? 3
               : c >= 0xF0 && c < 0xF5 ? 4
                                       : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// Reference: cut before the earliest-starting occurrence of any non-empty stop string.
std::string reference_cut(const std::string& text, const std::vector<std::string>& stops,
                          bool& matched) {
  size_t cut = std::string::npos;
  for (const std::string& s : stops) {
    if (!s.empty()) cut = std::min(cut, text.find(s));
  }
  matched = cut != std::string::npos;
  return matched ? text.substr(0, cut) : text;
}

struct Case {
  const char* name;
  std::vector<std::string> stops;
  std::string text;
  std::string expected;
  bool matched;
};

const std::vector<Case> kCases = {
    {"plain match", {"END"}, "Hello END world", "Hello ", true},
    {"overlapping prefix", {"abab"}, "abacabab", "abac", true},
    {"match at the very start", {"Hi"}, "Hi there", "", true},
    {"never completes", {"abc"}, "xxab", "xxab", false},
    {"partial then mismatch", {"world"}, "hello wor", "hello wor", false},
    {"earliest start wins over earliest end", {"bc", "abcd"}, "abcd", "", true},
    {"shorter stop wins when longer fails", {"abcd", "bc"}, "abce", "a", true},
    {"self-overlap aaa", {"aaa"}, "aaaa", "", true},
    {"self-overlap aab", {"aab"}, "aaab", "a", true},
    {"no stops", {}, "anything at all", "anything at all", false},
    {"empty stop ignored", {"", "x"}, "abxc", "ab", true},
    {"four stops", {"s1", "s2", "s3", "s4"}, "xx s3 s1", "xx ", true},
    {"blank lines", {"\n\n"}, "line\nline\n\nrest", "line\nline", true},
    {"CJK stop", {"。"}, "你好。世界", "你好", true},
    {"CJK shared lead bytes", {"世界"}, "世世界", "世", true},
    {"emoji stop", {"😀"}, "ok 😀 no", "ok ", true},
    {"emoji sharing 3 bytes", {"😀"}, "😁😀", "😁", true},
    {"emoji never completes", {"😀x"}, "a😀", "a😀", false},
    {"stop is whole text", {"abc"}, "abc", "", true},
    {"empty text", {"abc"}, "", "", false},
};

}  // namespace

TEST_CASE("stop matcher: same cut for every split into 1, 2 and 3 pieces") {
  for (const Case& c : kCases) {
    INFO(c.name);
    const size_t n = c.text.size();
    for (size_t a = 0; a <= n; ++a) {
      for (size_t b = a; b <= n; ++b) {
        const Run r =
            run_pieces(c.stops, {c.text.substr(0, a), c.text.substr(a, b - a), c.text.substr(b)});
        INFO("split at " << a << ", " << b);
        CHECK(r.out == c.expected);
        CHECK(r.matched == c.matched);
      }
    }
    std::vector<std::string> bytes;
    for (char ch : c.text) bytes.emplace_back(1, ch);
    const Run r = run_pieces(c.stops, bytes);
    CHECK(r.out == c.expected);
    CHECK(r.matched == c.matched);
  }
}

TEST_CASE("stop matcher: released pieces never split a code point") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> inputs = {
      {{}, "你好, 世界 😀 ok"}, {{"。"}, "你好。世界"}, {{"😀"}, "a😁b😀c"}, {{"世界"}, "世世世x界"}};
  for (const auto& [stops, text] : inputs) {
    INFO(text);
    for (size_t a = 0; a <= text.size(); ++a) {
      for (size_t b = a; b <= text.size(); ++b) {
        const Run r = run_pieces(stops, {text.substr(0, a), text.substr(a, b - a), text.substr(b)});
        for (const std::string& piece : r.released) CHECK(valid_utf8(piece));
      }
    }
  }
}

TEST_CASE("stop matcher: holds back only the longest suffix that may start a match") {
  StopMatcher m({"abx", "cab"});
  std::string out;
  CHECK(m.feed("zzab", out) == StopScan::kOpen);
  CHECK(out == "zz");
  CHECK(m.held_size() == 2);
  out.clear();
  CHECK(m.feed("c", out) == StopScan::kOpen);  // "abc": only "c" can still start "cab"
  CHECK(out == "ab");
  CHECK(m.held_size() == 1);
  out.clear();
  CHECK(m.feed("a", out) == StopScan::kOpen);  // "ca"
  CHECK(out.empty());
  CHECK(m.held_size() == 2);
  out.clear();
  CHECK(m.feed("bq", out) == StopScan::kMatched);
  CHECK(out.empty());
  out.clear();
  CHECK(m.feed("more", out) == StopScan::kMatched);
  CHECK(m.flush(out) == StopScan::kMatched);
  CHECK(out.empty());
}

TEST_CASE("stop matcher: without stop strings only an incomplete code point is held") {
  StopMatcher m({});
  std::string out;
  CHECK(m.feed("abc", out) == StopScan::kOpen);
  CHECK(out == "abc");
  CHECK(m.feed("d\xE4\xB8", out) == StopScan::kOpen);
  CHECK(out == "abcd");
  CHECK(m.held_size() == 2);
  CHECK(m.feed("\x96", out) == StopScan::kOpen);
  CHECK(out == "abcd世");
  CHECK(m.feed("\xF0", out) == StopScan::kOpen);
  CHECK(out == "abcd世");
  CHECK(m.flush(out) == StopScan::kOpen);  // at the end the incomplete byte goes out as is
  CHECK(out == "abcd世\xF0");
  CHECK(m.held_size() == 0);
}

TEST_CASE("stop matcher: a completed match waits for an earlier partial to be decided") {
  StopMatcher m({"abcd", "bc"});
  std::string out;
  CHECK(m.feed("xabc", out) == StopScan::kOpen);  // "bc" matched, "abcd" may still win
  CHECK(out == "x");
  CHECK(m.feed("e", out) == StopScan::kMatched);
  CHECK(out == "xa");
}

TEST_CASE("stop matcher: flush ends a segment and matching restarts") {
  StopMatcher m({"ab"});
  std::string out;
  CHECK(m.feed("xa", out) == StopScan::kOpen);
  CHECK(out == "x");
  CHECK(m.flush(out) == StopScan::kOpen);
  CHECK(out == "xa");
  CHECK(m.feed("b", out) == StopScan::kOpen);  // "a" | "b" straddles a flush: no match
  CHECK(m.feed("ab", out) == StopScan::kMatched);
  CHECK(out == "xab");
}

TEST_CASE("stop matcher: matches the reference on pseudo-random input") {
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  auto next = [&](uint64_t bound) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (seed >> 33) % bound;
  };
  auto word = [&](size_t max_len) {
    std::string s(1 + next(max_len), 'a');
    for (char& ch : s) ch = static_cast<char>('a' + next(3));
    return s;
  };
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<std::string> stops(1 + next(4));
    for (std::string& s : stops) s = word(4);
    const std::string text = next(5) == 0 ? std::string() : word(24);
    StopMatcher m(stops);
    std::string out;
    bool matched = false;
    size_t fed = 0;
    while (fed < text.size() && !matched) {
      const size_t len = std::min(text.size() - fed, static_cast<size_t>(1 + next(5)));
      matched = m.feed(std::string_view(text).substr(fed, len), out) == StopScan::kMatched;
      fed += len;
      const std::string consumed = text.substr(0, fed);
      bool any = false;
      reference_cut(consumed, stops, any);
      if (!any) {  // nothing completed yet: held = longest suffix that is a proper stop prefix
        size_t longest = 0;
        for (const std::string& s : stops) {
          for (size_t k = std::min(s.size() - 1, consumed.size()); k > longest; --k) {
            if (consumed.compare(consumed.size() - k, k, s, 0, k) == 0) longest = k;
          }
        }
        REQUIRE(m.held_size() == longest);
        REQUIRE(out == consumed.substr(0, consumed.size() - longest));
      }
    }
    if (m.flush(out) == StopScan::kMatched) matched = true;
    bool want_match = false;
    const std::string want = reference_cut(text, stops, want_match);
    INFO("text " << text << " stops " << stops.size() << " first " << stops[0]);
    REQUIRE(out == want);
    REQUIRE(matched == want_match);
  }
}

TEST_CASE("utf8_complete_prefix drops only an incomplete final sequence") {
  const std::vector<std::pair<std::string, size_t>> cases = {
      {"", 0},
      {"a", 1},
      {"\xE4", 0},
      {"\xE4\xB8", 0},
      {"\xE4\xB8\x96", 3},
      {"a\xF0\x9F\x98", 1},
      {"\xF0\x9F\x98\x80", 4},
      {"\x80", 1},
      {"\xFF", 1},
      {"ab\xC3", 2},
      {"\xC3\xA9", 2},
      {"x\x80\x80\x80", 4},
  };
  for (const auto& [s, want] : cases) {
    INFO(s.size());
    CHECK(utf8_complete_prefix(s) == want);
  }
}

TEST_CASE("the stop string that matched is reported") {
  struct Row {
    std::vector<std::string> stops;
    std::vector<std::string> pieces;
    std::string want;  // empty: no match
  };
  const std::vector<Row> rows = {
      {{"END"}, {"abcENDxyz"}, "END"},         {{"xyz", "END"}, {"abcE", "NDxyz"}, "END"},
      {{"BCD", "ABCDE"}, {"xABCDE"}, "ABCDE"},  // the earlier-starting match wins
      {{"CD", "BCD"}, {"ABCD"}, "BCD"},        {{"END"}, {"no match"}, ""},
  };
  for (const Row& row : rows) {
    StopMatcher m(row.stops);
    std::string out;
    for (const std::string& p : row.pieces) m.feed(p, out);
    m.flush(out);
    INFO(row.pieces[0]);
    CHECK(m.matched_stop() == row.want);
  }
}

TEST_CASE("pass_through releases whole text only when nothing could be held") {
  StopMatcher none(std::vector<std::string>{});
  CHECK(none.pass_through("plain"));
  CHECK_FALSE(none.pass_through("cut \xE4\xB8"));  // incomplete code point: feed() holds it
  std::string out;
  none.feed("cut \xE4\xB8", out);
  CHECK(out == "cut ");
  CHECK_FALSE(none.pass_through("\x96 more"));  // something is held
  none.feed("\x96 more", out);
  CHECK(out == "cut \xE4\xB8\x96 more");
  CHECK(none.pass_through("again"));
  StopMatcher stops(std::vector<std::string>{"END"});
  CHECK_FALSE(stops.pass_through("plain"));
}
