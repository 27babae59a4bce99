#include "dialect/openai_chat/writer.h"

#include <catch2/catch.hpp>

#include "json/json.h"
#include "xorshift.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using zproxy::append_json_string;
using zproxy::JsonDocument;
using zproxy::JsonValue;
using zproxy::ModelEntry;

namespace {

bool has_string(JsonValue v, std::string_view want) {
  return v.is_string() && v.string() == want;
}

std::string quoted(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

JsonDocument parse_strict(const std::string& json) {
  auto d = zproxy::parse_json(json);
  REQUIRE(d.ok());
  return std::move(d).value();
}

}  // namespace

TEST_CASE("append_sse_data frames one event") {
  std::string out = "x";
  zproxy::append_sse_data(out, R"({"a":1})");
  CHECK(out == "xdata: {\"a\":1}\n\n");
  CHECK(zproxy::kSseDone == "data: [DONE]\n\n");
}

TEST_CASE("append_json_string escapes exactly") {
  struct Case {
    std::string in;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"", R"("")"},
      {"plain text", R"("plain text")"},
      {"say \"hi\"", R"("say \"hi\"")"},
      {"back\\slash", R"("back\\slash")"},
      {"a\nb\rc\td", R"("a\nb\rc\td")"},
      {"\b\f", R"("\b\f")"},
      {std::string("nul\0x", 5), R"("nul\u0000x")"},
      {"\x01\x1f", R"("\u0001\u001f")"},
      {"del\x7f/slash", "\"del\x7f/slash\""},                        // DEL and '/' need no escape
      {"é 你好 😀", "\"é 你好 😀\""},                                  // valid UTF-8 passes through
      {"\xFF", "\"\xEF\xBF\xBD\""},                                  // invalid byte: U+FFFD
      {"a\xC0\xAF", "\"a\xEF\xBF\xBD\xEF\xBF\xBD\""},                // overlong '/'
      {"\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},  // surrogate
      {"\xF4\x90\x80\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},  // > U+10FFFF
      {"\xE4\xB8", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},  // truncated at the end
      {"\xF0\x9F\x98\x80\"", "\"\xF0\x9F\x98\x80\\\"\""},
  };
  for (const Case& c : cases) {
    INFO(c.want);
    const std::string got = quoted(c.in);
    CHECK(got == c.want);
    const JsonDocument d = parse_strict(got);  // always valid JSON, valid UTF-8
    REQUIRE(d.is_string());
  }
}

TEST_CASE("append_json_string round-trips valid text") {
  constexpr char kText[] = "q\"b\\n\n\x01\x7f é 你 😀 </script>\0end";
  const std::string text(kText, sizeof(kText) - 1);
  const JsonDocument d = parse_strict(quoted(text));
  REQUIRE(d.is_string());
  CHECK(d.string() == text);
}

TEST_CASE("model_json and models_list_json") {
  const std::vector<ModelEntry> models = {{"GLM-4.6", "GLM-4-6-API-V1"}, {"odd\"name", "x"}};
  CHECK(zproxy::model_json(models[0], 1700000000) ==
        R"({"id":"GLM-4.6","object":"model","created":1700000000,"owned_by":"z-ai",)"
        R"("type":"model","display_name":"GLM-4.6","created_at":"2023-11-14T22:13:20Z"})");
  CHECK(zproxy::models_list_json(models, 5) ==
        R"({"object":"list","data":[{"id":"GLM-4.6","object":"model","created":5,)"
        R"("owned_by":"z-ai","type":"model","display_name":"GLM-4.6",)"
        R"("created_at":"1970-01-01T00:00:05Z"},)"
        R"({"id":"odd\"name","object":"model","created":5,"owned_by":"z-ai","type":"model",)"
        R"("display_name":"odd\"name","created_at":"1970-01-01T00:00:05Z"}],)"
        R"("has_more":false,"first_id":"GLM-4.6","last_id":"odd\"name"})");
  CHECK(zproxy::models_list_json({}, 5) ==
        R"({"object":"list","data":[],"has_more":false,"first_id":null,"last_id":null})");

  // OpenAPI ListModelsResponse requires object, data; Model requires id, object, created, owned_by.
  const JsonDocument d = parse_strict(zproxy::models_list_json(models, 5));
  REQUIRE(d.is_object());
  CHECK(has_string(d.member("object"), "list"));
  REQUIRE(d.member("data").is_array());
  REQUIRE(d.member("data").size() == 2);
  for (const JsonValue m : d.member("data").elements()) {
    CHECK(m.member("id").is_string());
    CHECK(has_string(m.member("object"), "model"));
    CHECK(m.member("created").int64().has_value());
    CHECK(has_string(m.member("owned_by"), "z-ai"));
    // Anthropic's ModelInfo: id, type, display_name, created_at (RFC 3339).
    CHECK(has_string(m.member("type"), "model"));
    CHECK(m.member("display_name").is_string());
    CHECK(m.member("created_at").is_string());
  }
  CHECK(d.member("has_more").boolean() == false);
  CHECK(has_string(d.member("first_id"), "GLM-4.6"));
  CHECK(has_string(d.member("last_id"), "odd\"name"));
  CHECK(d.member("data").element(1).member("id").string() == "odd\"name");
}

TEST_CASE("OutputBuffer appends and escapes as std::string does") {
  // Text of every kind: plain runs, escapes, multi-byte UTF-8 and invalid bytes, in pieces long
  // enough to cross the buffer's escaping slices at every alignment.
  zproxy::test::Xorshift32 rand(88172645u);
  const std::string_view parts[] = {"plain words ",
                                    "\"",
                                    "\\",
                                    "\n",
                                    "\x01",
                                    "\xC3\xA9",
                                    "\xE4\xB8\xAD",
                                    "\xF0\x9F\x98\x80",
                                    "\xFF",
                                    "\xE2\x82",
                                    "\x80\x80\x80\x80\x80"};
  zproxy::OutputBuffer buf;
  for (int round = 0; round < 40; ++round) {
    std::string text;
    const size_t target = rand() % 20000;
    while (text.size() < target) text += parts[rand() % (sizeof parts / sizeof parts[0])];
    std::string expected = "head:";
    zproxy::append_json_escaped(expected, text);
    expected += ':';
    buf += "head:";
    buf.append_json_escaped(text);
    buf += ':';
    INFO("round " << round << ", " << text.size() << " bytes");
    REQUIRE(buf.take() == expected);
    CHECK(buf.take().empty());  // taken once
  }
  std::string escaped;
  zproxy::append_json_escaped(escaped, "a\"b");
  CHECK(escaped == "a\\\"b");
  CHECK(quoted("a\"b") == "\"a\\\"b\"");
}
