// The shell the upstream stream decoders share, with a stand-in mode: what the shell decides
// (framing, [DONE], JSON objects, cut events, limits, one final call) apart from any upstream.
// Every stream is decoded whole, split in two at every byte, and one byte at a time.

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "json/json.h"
#include "upstream/json_event_stream.h"

using namespace zproxy;

namespace {

// Passes each event's text on as content; {"end":true} is its end marker, {"fail":true} a
// failure. The stream's end without a marker is `at_end`; held text is "flush".
class StandIn final : public JsonEvents {
 public:
  explicit StandIn(EventStep at_end) : at_end_(at_end) {}
  EventOutcome on_event(JsonValue object, std::string_view text, DeltaSink& sink) override {
    sink.on_content(text);
    if (object.member("fail")) return EventOutcome::bad_response("fail");
    return object.member("end") ? EventOutcome::end() : EventOutcome::more();
  }
  EventOutcome at_stream_end() override {
    return at_end_ == EventStep::kEnd ? EventOutcome::end() : EventOutcome::truncated("cut");
  }
  void on_answer_end(DeltaSink& sink) override { sink.on_content("flush"); }

 private:
  EventStep at_end_;
};

class Log final : public DeltaSink {
 public:
  void on_reasoning(std::string_view t) override { add("reasoning:" + std::string(t)); }
  void on_content(std::string_view t) override { add("content:" + std::string(t)); }
  void on_tool_call(const ToolCallDelta&) override { add("tool"); }
  void on_usage(const Usage&) override { add("usage"); }
  void on_finish_reason(FinishReason) override { add("finish"); }
  void on_end() override { add("end"), ++finals; }
  void on_failure(const UpstreamFailure& f) override {
    add("failure:" + std::string(errc_info(f.error.code).code) + " " + f.error.message);
    ++finals;
  }
  std::string text;
  int finals = 0;

 private:
  void add(const std::string& line) {
    if (finals > 0) text += "(after the end) ";
    text += line + "\n";
  }
};

std::string decode(std::string_view bytes, const std::vector<size_t>& cuts, EventStep at_end,
                   SseLimits limits) {
  JsonEventStream stream(limits, std::make_unique<StandIn>(at_end));
  Log log;
  size_t from = 0;
  for (size_t cut : cuts) {
    stream.feed(bytes.substr(from, cut - from), log);
    from = cut;
  }
  stream.feed(bytes.substr(from), log);
  stream.finish(log);
  CHECK(stream.ended());
  CHECK(log.finals == 1);
  stream.feed("data: {\"late\":1}\n\n", log);  // ignored after the end
  stream.finish(log);
  return log.text;
}

std::string decode_all_splits(std::string_view bytes, EventStep at_end = EventStep::kFailure,
                              SseLimits limits = {}) {
  const std::string whole = decode(bytes, {}, at_end, limits);
  std::vector<size_t> every;
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    INFO("split at " << cut);
    REQUIRE(decode(bytes, {cut}, at_end, limits) == whole);
    every.push_back(cut);
  }
  REQUIRE(decode(bytes, every, at_end, limits) == whole);
  return whole;
}

}  // namespace

TEST_CASE("json event stream: how an answer ends", "[decoder][shell]") {
  struct Row {
    const char* name;
    std::string bytes;
    EventStep at_end;
    std::string log;
  };
  const std::string a = "data: {\"a\":1}\n\n";
  const std::vector<Row> rows = {
      {"[DONE]: held text, then the end", a + "data: [DONE]\n\n", EventStep::kFailure,
       "content:{\"a\":1}\ncontent:flush\nend\n"},
      {"the mode's end marker", a + "data: {\"end\":true}\n\n" + a, EventStep::kFailure,
       "content:{\"a\":1}\ncontent:{\"end\":true}\ncontent:flush\nend\n"},
      {"no marker: truncated, as the mode says", a, EventStep::kFailure,
       "content:{\"a\":1}\nfailure:upstream_truncated cut\n"},
      {"no marker: whole, as the mode says", a, EventStep::kEnd,
       "content:{\"a\":1}\ncontent:flush\nend\n"},
      {"empty stream", "", EventStep::kFailure, "failure:upstream_truncated cut\n"},
      {"a failure from the mode", a + "data: {\"fail\":1}\n\ndata: [DONE]\n\n", EventStep::kFailure,
       "content:{\"a\":1}\ncontent:{\"fail\":1}\nfailure:upstream_bad_response fail\n"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    CHECK(decode_all_splits(row.bytes, row.at_end) == row.log);
  }
}

TEST_CASE("json event stream: event data", "[decoder][shell]") {
  const std::string not_object =
      "failure:upstream_bad_response upstream sent an event that is not a JSON object\n";
  struct Row {
    const char* name;
    std::string bytes;
    std::string log;
  };
  const std::vector<Row> rows = {
      {"whitespace around the data is not part of it",
       "data:  {\"a\":1}\t\r\n\r\ndata:  [DONE] \n\n", "content:{\"a\":1}\ncontent:flush\nend\n"},
      {"blank data and comments are skipped", ": ping\n\ndata:\n\ndata: \t\n\ndata: [DONE]\n\n",
       "content:flush\nend\n"},
      {"multi-line data is one JSON text", "data: {\"a\":\ndata: 1}\n\ndata: [DONE]\n\n",
       "content:{\"a\":\n1}\ncontent:flush\nend\n"},
      {"not JSON", "data: {\"a\":\n\ndata: [DONE]\n\n", not_object},
      {"JSON, not an object", "data: [1]\n\ndata: [DONE]\n\n", not_object},
      {"an SSE limit overrun", "data: {\"a\":\"" + std::string(100, 'x') + "\"}\n\n",
       "failure:upstream_bad_response upstream SSE line exceeds max_line_bytes (64)\n"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    CHECK(decode_all_splits(row.bytes, EventStep::kFailure, SseLimits{64, 64}) == row.log);
  }
}

TEST_CASE("json event stream: an event the stream cut is not read", "[decoder][shell]") {
  // Whatever the cut event holds (an end marker, a failure, half a JSON text), the stream
  // ended with the event before it, and the mode's end-of-stream rule decides.
  const std::string a = "data: {\"a\":1}\n\n";
  for (const std::string cut :
       {"data: {\"end\":true}", "data: {\"end\":true}\n", "data: {\"end\":true}\r",
        "data: [DONE]\r\n", "data: {\"fail\":1}\n", "data: {\"a\":\n", "data: {\"a\":", "da"}) {
    INFO(cut);
    CHECK(decode_all_splits(a + cut, EventStep::kFailure) ==
          "content:{\"a\":1}\nfailure:upstream_truncated cut\n");
    CHECK(decode_all_splits(a + cut, EventStep::kEnd) == "content:{\"a\":1}\ncontent:flush\nend\n");
  }
}

TEST_CASE("json event stream: a moved-from stream is ended", "[decoder][shell]") {
  JsonEventStream first(SseLimits{}, std::make_unique<StandIn>(EventStep::kFailure));
  Log log;
  first.feed("data: {\"a\"", log);
  JsonEventStream second(std::move(first));
  CHECK(first.ended());  // NOLINT(bugprone-use-after-move): moved-from is inert by contract
  first.feed(":2}\n\n", log);
  second.feed(":1}\n\ndata: [DONE]\n\n", log);
  CHECK(second.ended());
  CHECK(log.text == "content:{\"a\":1}\ncontent:flush\nend\n");
}
