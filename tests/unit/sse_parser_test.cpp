#include "sse/sse_parser.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "json/json.h"

// Events are rendered one per line as {"type":…,"data":…,"id":…[,"retry":N]} (retry only when
// a retry field has been seen), the same shape as the golden `tests/fixtures/sse/*.events`
// files. A run that fails ends with the line "error: <message>".

using namespace zproxy;
using namespace std::string_literals;
using namespace std::string_view_literals;
using Lines = std::vector<std::string>;

namespace {

std::string render(const SseEvent& e, int64_t retry_ms) {
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("type");
  w.String(e.type);
  w.Key("data");
  w.String(e.data);
  w.Key("id");
  w.String(e.last_event_id);
  if (retry_ms >= 0) {
    w.Key("retry");
    w.Int64(retry_ms);
  }
  w.EndObject();
  return buf.take();
}

class Recorder : public SseHandler {
 public:
  explicit Recorder(const SseParser& parser) : parser_(parser) {}
  void on_event(const SseEvent& e) override { lines.push_back(render(e, parser_.retry_ms())); }
  Lines lines;

 private:
  const SseParser& parser_;
};

// Feeds `input` cut at the sorted offsets `cuts`, then finishes.
Lines replay(std::string_view input, const std::vector<size_t>& cuts, SseLimits limits = {}) {
  SseParser parser(limits);
  Recorder rec(parser);
  size_t from = 0;
  Status status = ok_status();
  for (size_t i = 0; i <= cuts.size() && status.ok(); ++i) {
    const size_t to = i < cuts.size() ? cuts[i] : input.size();
    status = parser.feed(input.substr(from, to - from), rec);
    from = to;
  }
  if (status.ok()) status = parser.finish(rec);
  if (!status.ok()) {
    CHECK(status.error().code == Errc::kUpstreamBadResponse);
    rec.lines.push_back("error: " + status.error().message);
  }
  return rec.lines;
}

// The events of `input` fed whole, after checking that every split into two slices and the
// one-byte-at-a-time feed give exactly the same.
Lines replay_all_splits(std::string_view input, SseLimits limits = {}) {
  const Lines whole = replay(input, {}, limits);
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    const Lines split = replay(input, {cut}, limits);
    if (split != whole) {
      INFO("split at byte " << cut);
      CHECK(split == whole);
      break;
    }
  }
  std::vector<size_t> every_byte(input.size());
  for (size_t i = 0; i < input.size(); ++i) every_byte[i] = i;
  CHECK(replay(input, every_byte, limits) == whole);
  return whole;
}

std::string ev(std::string_view data, std::string_view type = "message", std::string_view id = "",
               int64_t retry = -1) {
  return render(SseEvent{type, data, id}, retry);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("SSE grammar rules", "[sse]") {
  struct Case {
    const char* rule;
    std::string input;
    Lines events;
  };
  const Case cases[] = {
      {"LF", "data: a\n\n", {ev("a")}},
      {"CRLF", "data: a\r\n\r\n", {ev("a")}},
      {"CR", "data: a\r\r", {ev("a")}},
      {"mixed terminators", "data: a\r\ndata: b\rdata: c\n\n", {ev("a\nb\nc")}},
      {"LF then CR ends two lines", "data: a\n\rdata: b\n\n", {ev("a"), ev("b")}},
      {"CR CR LF", "data: a\r\r\ndata: b\n\n", {ev("a"), ev("b")}},
      {"no space after colon", "data:a\n\n", {ev("a")}},
      {"only one space dropped", "data:  a \n\n", {ev(" a ")}},
      {"tab is kept", "data:\ta\n\n", {ev("\ta")}},
      {"multi-line data", "data: a\ndata: b\n\n", {ev("a\nb")}},
      {"field without colon", "data\n\n", {ev("")}},
      {"empty values", "data:\ndata:\n\n", {ev("\n")}},
      {"colon in value", "data: a:b: c\n\n", {ev("a:b: c")}},
      {"comment", ": hi\ndata: a\n: there\n\n", {ev("a")}},
      {"comment only", ": keep-alive\n\n", {}},
      {"blank lines only", "\n\r\n\r\n\n", {}},
      {"event type", "event: delta\ndata: x\n\n", {ev("x", "delta")}},
      {"type resets after dispatch", "event: a\ndata: 1\n\ndata: 2\n\n", {ev("1", "a"), ev("2")}},
      {"type without data", "event: a\n\ndata: 2\n\n", {ev("2")}},
      {"empty type is message", "event:\ndata: 1\n\n", {ev("1")}},
      {"id persists",
       "id: 7\ndata: a\n\ndata: b\n\n",
       {ev("a", "message", "7"), ev("b", "message", "7")}},
      {"id resets", "id: 7\ndata: a\n\nid\ndata: b\n\n", {ev("a", "message", "7"), ev("b")}},
      {"id with NUL ignored", "id: 1\nid: 2\0\ndata: a\n\n"s, {ev("a", "message", "1")}},
      {"id without data", "id: 3\n\ndata: a\n\n", {ev("a", "message", "3")}},
      {"retry", "retry: 3000\ndata: a\n\n", {ev("a", "message", "", 3000)}},
      {"retry not digits", "retry: 3x\nretry: -1\nretry:\nretry: 1 \ndata: a\n\n", {ev("a")}},
      {"retry saturates",
       "retry: 99999999999999999999999\ndata: a\n\n",
       {ev("a", "message", "", INT64_MAX)}},
      {"unknown field", "foo: bar\ndata: a\n\n", {ev("a")}},
      {"names are case-sensitive", "Data: a\nDATA: b\n\n", {}},
      {"leading space is part of the name", " data: a\n\n", {}},
      {"BOM stripped at start",
       "\xEF\xBB\xBF"
       "data: a\n\n",
       {ev("a")}},
      {"BOM stripped once",
       "\xEF\xBB\xBF\xEF\xBB\xBF"
       "data: a\n\n",
       {}},
      {"BOM only at start",
       "\n\xEF\xBB\xBF"
       "data: a\n\n",
       {}},
      {"BOM then blank line", "\xEF\xBB\xBF\ndata: a\n\n", {ev("a")}},
      {"partial BOM is not stripped",
       "\xEF\xBB"
       "data: a\n\n",
       {}},
      {"final event without blank line", "data: a", {ev("a")}},
      {"final event after LF", "data: a\n", {ev("a")}},
      {"final event after CR", "data: a\r", {ev("a")}},
      {"final event after CRLF", "data: a\ndata: b\r\n", {ev("a\nb")}},
      {"[DONE]", "data: [DONE]\n\n", {ev("[DONE]")}},
      {"bytes pass through", "data: \xFF\0\xC3\xA9\n\n"s, {ev("\xFF\0\xC3\xA9"s)}},
      {"empty stream", "", {}},
  };
  for (const Case& c : cases) {
    INFO(c.rule);
    CHECK(replay_all_splits(c.input) == c.events);
  }
}

TEST_CASE("SSE finish() marks the event the stream cut", "[sse]") {
  // Each event as its data, "(cut)" appended when the stream ended inside it.
  struct CutRecorder : SseHandler {
    Lines lines;
    void on_event(const SseEvent& e) override {
      lines.push_back(std::string(e.data) + (e.cut ? " (cut)" : ""));
    }
  };
  auto run = [](std::string_view input, size_t cut_at) {
    SseParser parser;
    CutRecorder rec;
    REQUIRE(parser.feed(input.substr(0, cut_at), rec).ok());
    REQUIRE(parser.feed(input.substr(cut_at), rec).ok());
    REQUIRE(parser.finish(rec).ok());
    return rec.lines;
  };
  struct Case {
    const char* rule;
    std::string input;
    Lines events;
  };
  const Case cases[] = {
      {"ends at an event boundary", "data: a\n\n", {"a"}},
      {"blank lines after the last event", "data: a\n\n\r\n", {"a"}},
      {"CR CR ends the event", "data: a\r\r", {"a"}},
      {"cut inside a data line", "data: a\n\ndata: {\"b\":", {"a", "{\"b\": (cut)"}},
      {"cut after the data line's LF", "data: a\n\ndata: b\n", {"a", "b (cut)"}},
      {"cut after the data line's CR", "data: b\r", {"b (cut)"}},
      {"cut after the data line's CRLF", "data: b\r\n", {"b (cut)"}},
      {"cut after two data lines", "data: a\ndata: b\n", {"a\nb (cut)"}},
      {"cut inside a comment: nothing dispatched", "data: a\n\n: keep-al", {"a"}},
      {"cut after a field without data: nothing dispatched", "data: a\n\nevent: x\n", {"a"}},
  };
  for (const Case& c : cases) {
    INFO(c.rule);
    for (size_t at = 0; at <= c.input.size(); ++at) {
      INFO("split at " << at);
      CHECK(run(c.input, at) == c.events);
    }
  }
}

TEST_CASE("SSE limits give a sticky kUpstreamBadResponse naming the limit", "[sse]") {
  const std::string line_error = "error: upstream SSE line exceeds max_line_bytes (8)";
  const std::string event_error = "error: upstream SSE event exceeds max_event_bytes (5)";
  struct Case {
    const char* rule;
    std::string input;
    SseLimits limits;
    Lines events;
  };
  const Case cases[] = {
      {"line at the limit", "data: 12\n\n", {8, 100}, {ev("12")}},
      {"line over the limit", "data: 123\n\ndata: 1\n\n", {8, 100}, {line_error}},
      {"events before the long line",
       "data: a\n\ndata: 123456\n\n",
       {8, 100},
       {ev("a"), line_error}},
      {"unterminated long tail", "data: a\n\n:23456789", {8, 100}, {ev("a"), line_error}},
      {"CRLF is not counted", "data: 12\r\n\r\n", {8, 100}, {ev("12")}},
      {"event at the limit", "data: 12345\n\n", {100, 5}, {ev("12345")}},
      {"event over the limit", "data: 123456\n\n", {100, 5}, {event_error}},
      {"multi-line event at the limit", "data: 12\ndata: 34\n\n", {100, 5}, {ev("12\n34")}},
      {"multi-line event over the limit", "data: 12\ndata: 345\n\n", {100, 5}, {event_error}},
      {"limit is per event", "data: 1234\n\ndata: 1234\n\n", {100, 5}, {ev("1234"), ev("1234")}},
  };
  for (const Case& c : cases) {
    INFO(c.rule);
    CHECK(replay_all_splits(c.input, c.limits) == c.events);
  }

  SECTION("later calls return the same error and dispatch nothing") {
    SseParser parser(SseLimits{8, 100});
    Recorder rec(parser);
    Status first = parser.feed("data: 123456789\n"sv, rec);
    REQUIRE_FALSE(first.ok());
    CHECK(first.error().code == Errc::kUpstreamBadResponse);
    Status again = parser.feed("data: a\n\n"sv, rec);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().message == first.error().message);
    Status end = parser.finish(rec);
    REQUIRE_FALSE(end.ok());
    CHECK(end.error().message == first.error().message);
    CHECK(rec.lines.empty());
  }
  SECTION("limits from MiB") {
    const SseLimits l = SseLimits::from_mib(3);
    CHECK(l.max_line_bytes == 3u << 20);
    CHECK(l.max_event_bytes == 3u << 20);
  }
}

TEST_CASE("SSE retry_ms starts at -1", "[sse]") {
  SseParser parser;
  Recorder rec(parser);
  CHECK(parser.retry_ms() == -1);
  REQUIRE(parser.feed("retry: 15\n"sv, rec).ok());
  CHECK(parser.retry_ms() == 15);
}

TEST_CASE("SSE events carry views valid during on_event", "[sse]") {
  struct Copier : SseHandler {
    std::vector<std::string> data;
    void on_event(const SseEvent& e) override { data.emplace_back(e.data); }
  } copier;
  SseParser parser;
  // Events completed inside one slice (no copy of their lines) and across slices.
  REQUIRE(parser.feed("data: one\n\ndata: tw"sv, copier).ok());
  REQUIRE(parser.feed("o\n\ndata: three\n\n"sv, copier).ok());
  REQUIRE(parser.finish(copier).ok());
  CHECK(copier.data == std::vector<std::string>{"one", "two", "three"});
}

TEST_CASE("SSE data lines held in place or copied give the same events and limits", "[sse]") {
  // A first data line inside a slice is held as a view until the event ends; a second line, or
  // the end of the slice, copies it. Every split gives the same events.
  CHECK(replay_all_splits("data: a\ndata: b\n\ndata: c\n\n: x\ndata:\n\n") ==
        Lines{ev("a\nb"), ev("c"), ev("")});
  // The event size limit counts the held line and its "\n" as when it was copied.
  CHECK(replay_all_splits("data: abc\n\n", SseLimits{64, 3}) == Lines{ev("abc")});
  const Lines over = replay_all_splits("data: abc\ndata:\n\n", SseLimits{64, 3});
  REQUIRE(over.size() == 1);
  CHECK(over[0] == "error: upstream SSE event exceeds max_event_bytes (3)");
}

TEST_CASE("SSE golden fixtures replay identically at every split point", "[sse][fixtures]") {
  const std::filesystem::path dir = std::filesystem::path(ZPROXY_FIXTURE_DIR) / "sse";
  std::vector<std::filesystem::path> inputs;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".sse") inputs.push_back(entry.path());
  }
  std::sort(inputs.begin(), inputs.end());
  REQUIRE(inputs.size() >= 10);
  for (const auto& input : inputs) {
    INFO(input.filename().string());
    std::filesystem::path expected_path = input;
    expected_path.replace_extension(".events");
    REQUIRE(std::filesystem::exists(expected_path));
    Lines expected;
    std::ifstream in(expected_path, std::ios::binary);
    for (std::string line; std::getline(in, line);) {
      auto doc = parse_json(line);  // canonical form: the fixture may be written by hand
      REQUIRE(doc.ok());
      expected.push_back(json_dump(*doc));
    }
    REQUIRE_FALSE(expected.empty());
    CHECK(replay_all_splits(read_file(input)) == expected);
  }
}
