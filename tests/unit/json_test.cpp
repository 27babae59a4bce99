#include "json/json.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "json/reference.h"
#include "xorshift.h"

using namespace zproxy;
using namespace std::string_literals;

namespace {

std::string nested(size_t depth, std::string_view open = "[", std::string_view close = "]") {
  std::string s;
  for (size_t i = 0; i < depth; ++i) s += open;
  for (size_t i = 0; i < depth; ++i) s += close;
  return s;
}

}  // namespace

TEST_CASE("parse_json accepts valid documents and dumps them compactly", "[json]") {
  struct Case {
    std::string text;
    std::string dump;
  };
  const Case cases[] = {
      {"{}", "{}"},
      {"[]", "[]"},
      {" 0 ", "0"},
      {"-12.5e2", "-1250.0"},
      {"null", "null"},
      {"true", "true"},
      {"\"x\"", "\"x\""},
      {"\t{ \"a\" : [1, 2, {\"b\": null}] }\r\n", "{\"a\":[1,2,{\"b\":null}]}"},
      {"\"caf\xC3\xA9 \xF0\x9F\x98\x80\"", "\"caf\xC3\xA9 \xF0\x9F\x98\x80\""},
      {"\"\\u00e9\\ud83d\\ude00\"", "\"\xC3\xA9\xF0\x9F\x98\x80\""},
      {"\"a\\u0000b\\n\\\"\"", "\"a\\u0000b\\n\\\"\""},
      {"[1e5, 1E+308, 1e-00005, 18446744073709551615]",
       "[100000.0,1e308,0.00001,18446744073709551615]"},
      // Short decimals are exact (RapidJSON's fast path).
      {"[0.1, 0.7, 1e-7, 2.5e-3, -3.25]", "[0.1,0.7,1e-7,0.0025,-3.25]"},
      {"-1.7976931348623157e308", "-1.7976931348623157e308"},
      // Found by json_fuzz: RapidJSON's full-precision path reads out of bounds on this one.
      {"0." + std::string(400, '0') + "1e-300", "0.0"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto doc = parse_json(c.text);
    REQUIRE(doc.ok());
    CHECK(json_dump(*doc) == c.dump);
    CHECK(detail::rapidjson_dump(*doc) == c.dump);
  }
}

TEST_CASE("parse_json rejects invalid documents with the byte offset", "[json]") {
  struct Case {
    std::string text;
    std::string message;  // exact
  };
  const Case cases[] = {
      {"", "Invalid JSON at byte 0: The document is empty."},
      {"   ", "Invalid JSON at byte 3: The document is empty."},
      {"{", "Invalid JSON at byte 1: Missing a name for object member."},
      // Trailing garbage is an error, not ignored.
      {"{}x", "Invalid JSON at byte 2: The document root must not be followed by other values."},
      {"{} {}", "Invalid JSON at byte 3: The document root must not be followed by other values."},
      {"[1,]", "Invalid JSON at byte 3: Invalid value."},
      {"{\"a\":1,}", "Invalid JSON at byte 7: Missing a name for object member."},
      {"'a'", "Invalid JSON at byte 0: Invalid value."},
      {"[NaN]", "Invalid JSON at byte 1: Invalid value."},
      {"[1] // c",
       "Invalid JSON at byte 4: The document root must not be followed by other values."},
      {"\"a\nb\"", "Invalid JSON at byte 2: Invalid escape character in string."},
      {"[1e400]", "Invalid JSON at byte 1: Number too big to be stored in double."},
      // Found by json_fuzz: RapidJSON 1.1.0 turns these into infinity instead of an error.
      {"[2.225070001311e308]", "Invalid JSON at byte 1: number out of range"},
      {"-17976931348623159e292", "Invalid JSON at byte 0: number out of range"},
      // A NUL byte would look like the end of input to RapidJSON's stream: refused up front.
      {"{}\0x"s, "Invalid JSON at byte 2: NUL byte"},
      {"\"a\0\""s, "Invalid JSON at byte 2: NUL byte"},
      // A byte-order mark is not JSON (RFC 8259 8.1), nor is any stray part of one.
      {"\xEF\xBB\xBF{}", "Invalid JSON at byte 0: Invalid value."},
      {"\xBF{}", "Invalid JSON at byte 0: Invalid value."},
      // Exponents of more than 5 digits (RapidJSON 1.1.0 overflows an int on long ones).
      {"[1e000001]", "Invalid JSON at byte 2: exponent too long"},
      {"0.00000000001e-2147483639", "Invalid JSON at byte 13: exponent too long"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto doc = parse_json(c.text);
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().code == Errc::kInvalidJson);
    CHECK(doc.error().message == c.message);
  }
}

// Invalid UTF-8 is rejected (kParseValidateEncodingFlag), never repaired: every string the proxy
// forwards or re-serialises is then valid UTF-8. Escaped lone surrogates are rejected too.
TEST_CASE("parse_json rejects invalid UTF-8 inside strings", "[json]") {
  const std::string bad[] = {
      "\"\xFF\"",              // never valid
      "\"\xC0\xAF\"",          // overlong '/'
      "\"\xE0\x80\xAF\"",      // overlong, three bytes
      "\"\xED\xA0\x80\"",      // UTF-16 surrogate encoded in UTF-8
      "\"\xF4\x90\x80\x80\"",  // above U+10FFFF
      "\"\xE2\x82\"",          // truncated sequence
      "\"\x80\"",              // lone continuation byte
      "\"\\ud800\"",           // lone high surrogate escape
      "\"\\udc00\"",           // lone low surrogate escape
      "{\"k\xFF\":1}",         // in a key
  };
  for (const std::string& text : bad) {
    INFO(text);
    auto doc = parse_json(text);
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().code == Errc::kInvalidJson);
  }
  auto lone = parse_json("[\"ab\\udc00\"]");
  REQUIRE_FALSE(lone.ok());
  CHECK(lone.error().message == "Invalid JSON at byte 4: lone surrogate escape");
  CHECK_FALSE(parse_json("\"\\ud83d\\u0041\"").ok());  // high surrogate, then no low one
  CHECK(parse_json("\"\\\\udc00\"").ok());             // an escaped backslash, then text
  CHECK(parse_json("\"\\uD83D\\uDE00\"").ok());        // upper-case hex pair
  CHECK(parse_json("\"\xF4\x8F\xBF\xBF\"").ok());      // U+10FFFF
  CHECK(parse_json("\"\xEF\xBF\xBD\"").ok());          // U+FFFD
}

TEST_CASE("parse_json caps nesting depth", "[json]") {
  SECTION("depth exactly at the default cap is accepted, one more is not") {
    CHECK(parse_json(nested(kDefaultJsonMaxDepth)).ok());
    std::string objects;
    for (size_t i = 0; i < kDefaultJsonMaxDepth - 1; ++i) objects += "{\"a\":";
    objects += "[]";
    for (size_t i = 0; i < kDefaultJsonMaxDepth - 1; ++i) objects += "}";
    CHECK(parse_json(objects).ok());
    auto deeper = parse_json(nested(kDefaultJsonMaxDepth + 1));
    REQUIRE_FALSE(deeper.ok());
    CHECK(deeper.error().message == "Invalid JSON at byte 64: nesting deeper than 64 levels");
  }
  SECTION("a custom cap") {
    CHECK(parse_json(nested(3), {.max_depth = 3}).ok());
    CHECK_FALSE(parse_json(nested(4), {.max_depth = 3}).ok());
    CHECK(parse_json("1", {.max_depth = 0}).ok());
    CHECK_FALSE(parse_json("[]", {.max_depth = 0}).ok());
  }
  SECTION("a million open brackets stop at the cap, before parsing") {
    const std::string bomb(1'000'000, '[');
    auto doc = parse_json(bomb);
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().code == Errc::kInvalidJson);
    CHECK(doc.error().message == "Invalid JSON at byte 64: nesting deeper than 64 levels");
    std::string objects;
    for (int i = 0; i < 1'000'000; ++i) objects += "{\"a\":";
    CHECK_FALSE(parse_json(objects).ok());
  }
  SECTION("the parser itself is iterative: 100000 levels parse when allowed") {
    auto doc = parse_json(nested(100'000), {.max_depth = 100'000, .max_values = 200'000});
    CHECK(doc.ok());
  }
  SECTION("brackets inside strings and after escapes do not count") {
    CHECK(parse_json("[\"[[[[{{{{\"]", {.max_depth = 1}).ok());
    CHECK(parse_json("[\"\\\"[[[[\"]", {.max_depth = 1}).ok());
    CHECK(parse_json("{\"[[[\":\"]]]\"}", {.max_depth = 1}).ok());
    // An escaped backslash ends the escape: the quote after it closes the string.
    CHECK_FALSE(parse_json("[\"\\\\\",[[]]]", {.max_depth = 2}).ok());
    CHECK(parse_json("[\"\\\\\",[[]]]", {.max_depth = 3}).ok());
  }
}

TEST_CASE("json value count is capped before parsing", "[json]") {
  auto array_of = [](size_t n, std::string_view item) {
    std::string s = "[";
    for (size_t i = 0; i < n; ++i) {
      if (i) s += ',';
      s += item;
    }
    return s + "]";
  };
  SECTION("at the cap parses, one more is refused as too large") {
    // The array itself is one value: 3 elements + 1 = 4.
    CHECK(parse_json(array_of(3, "1"), {.max_values = 4}).ok());
    auto over = parse_json(array_of(4, "1"), {.max_values = 4});
    REQUIRE_FALSE(over.ok());
    CHECK(over.error().code == Errc::kRequestTooLarge);
    CHECK(over.error().message == "JSON text holds more than 4 values");
  }
  SECTION("members, nested containers and empty containers all count") {
    CHECK(parse_json(R"({"a":1,"b":[{}]})", {.max_values = 5}).ok());
    CHECK_FALSE(parse_json(R"({"a":1,"b":[{},{}]})", {.max_values = 5}).ok());
  }
  SECTION("commas and brackets inside strings do not count") {
    CHECK(parse_json(R"(["a,b,c,[{", "x"])", {.max_values = 3}).ok());
  }
  SECTION("the default cap refuses four million tiny values at once") {
    auto doc = parse_json(array_of(4'000'000, "1"));
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().code == Errc::kRequestTooLarge);
    CHECK(parse_json(array_of(kDefaultJsonMaxValues - 1, "1")).ok());
  }
}

TEST_CASE("json parsed in place", "[json]") {
  SECTION("strings, escapes and keys read as with parse_json") {
    const std::string text = R"({"k\u00e9y":"a\"b\\c\n","n":[1,2.5,true,null],"e":""})";
    auto copy = parse_json(text);
    auto in_place = parse_json_in_place(text);
    REQUIRE(copy.ok());
    REQUIRE(in_place.ok());
    CHECK(json_dump(*in_place) == json_dump(*copy));
    CHECK(in_place->member("k\xC3\xA9y").string() == "a\"b\\c\n");
  }
  SECTION("the document survives moves of its holder, short texts included") {
    const std::string texts[] = {R"({"a":"x"})",
                                 R"({"a":"x","pad":")" + std::string(100, 'p') + "\"}"};
    for (const std::string& text : texts) {
      std::optional<JsonDocument> held;
      {
        auto r = parse_json_in_place(text);
        REQUIRE(r.ok());
        held.emplace(std::move(r).value());
      }
      JsonDocument moved = std::move(*held);
      CHECK_FALSE(*held);  // a moved-from document is empty
      held.reset();
      CHECK(moved.member("a").string() == "x");
      JsonDocument assigned = parse_json("[]").value();
      assigned = std::move(moved);
      CHECK(assigned.member("a").string() == "x");
    }
  }
  SECTION("the same refusals: bad JSON, NUL, depth, value count, trailing bytes") {
    CHECK(parse_json_in_place("{bad").error().code == Errc::kInvalidJson);
    CHECK(parse_json_in_place(std::string("{}\0", 3)).error().code == Errc::kInvalidJson);
    CHECK(parse_json_in_place("[[1]]", {.max_depth = 1}).error().code == Errc::kInvalidJson);
    CHECK(parse_json_in_place("[1,2]", {.max_values = 2}).error().code == Errc::kRequestTooLarge);
    CHECK(parse_json_in_place("{} x").error().code == Errc::kInvalidJson);
    CHECK(parse_json_in_place("\xEF\xBB\xBF{}").error().code == Errc::kInvalidJson);
    CHECK(parse_json_in_place("[\"\xC0\x80\"]").error().code == Errc::kInvalidJson);
    CHECK(parse_json_in_place("1e999").error().code == Errc::kInvalidJson);
    // A multi-byte lead at the very end: the validator reads on into the padding, not beyond.
    for (std::string_view cut : {"\"\xF4", "\"\xE2\x82", "[\"\xF0\x9F", "{\"\xC3"}) {
      CHECK(parse_json_in_place(std::string(cut)).error().code == Errc::kInvalidJson);
    }
  }
}

TEST_CASE("json_dump output parses back to the same dump", "[json]") {
  const std::string text =
      "{\"k\":[\"\\u0001\\t\\\\\",-0.0,1.5e-7,123456789012345678,{\"\":[]}],\"u\":"
      "\"\xE2\x80\xA6\"}";
  auto doc = parse_json(text);
  REQUIRE(doc.ok());
  const std::string dumped = json_dump(*doc);
  CHECK(dumped ==
        "{\"k\":[\"\\u0001\\t\\\\\",-0.0,1.5e-7,123456789012345678,{\"\":[]}],\"u\":"
        "\"\xE2\x80\xA6\"}");
  auto again = parse_json(dumped);
  REQUIRE(again.ok());
  CHECK(json_dump(*again) == dumped);
}

namespace {

// Kinds and values, recursively: json_dump alone would not tell 5 from 5.0 in every case.
bool same_value(JsonValue a, JsonValue b) {
  if (a.is_null() != b.is_null() || a.boolean() != b.boolean() || a.is_number() != b.is_number() ||
      a.is_string() != b.is_string() || a.is_array() != b.is_array() ||
      a.is_object() != b.is_object()) {
    return false;
  }
  if (a.int64() != b.int64() || a.uint64() != b.uint64() || a.number() != b.number() ||
      a.string() != b.string() || a.size() != b.size()) {
    return false;
  }
  if (a.is_array()) {
    auto y = b.elements().begin();
    for (const JsonValue x : a.elements()) {
      if (!same_value(x, *y)) return false;
      ++y;
    }
  }
  if (a.is_object()) {
    auto y = b.members().begin();
    for (const JsonMember x : a.members()) {
      if (x.key != (*y).key || !same_value(x.value, (*y).value)) return false;
      ++y;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("parse_json reads numbers as RapidJSON's reader does", "[json]") {
  struct Case {
    const char* text;
    std::optional<int64_t> int64;
    std::optional<uint64_t> uint64;
    double number;
  };
  constexpr auto kNo = std::nullopt;
  const Case cases[] = {
      {"0", 0, 0u, 0},
      {"-0", 0, 0u, 0},  // an integer: RapidJSON reads it as Int(0)
      {"7", 7, 7u, 7},
      {"-7", -7, kNo, -7},
      {"2147483647", 2147483647, 2147483647u, 2147483647.0},
      {"2147483648", 2147483648, 2147483648u, 2147483648.0},
      {"-2147483648", -2147483648LL, kNo, -2147483648.0},
      {"-2147483649", -2147483649, kNo, -2147483649.0},
      {"4294967295", 4294967295, 4294967295u, 4294967295.0},
      {"4294967296", 4294967296, 4294967296u, 4294967296.0},
      {"9223372036854775807", INT64_MAX, uint64_t{INT64_MAX}, 9223372036854775807.0},
      {"9223372036854775808", kNo, uint64_t{1} << 63, 9223372036854775808.0},
      {"-9223372036854775808", INT64_MIN, kNo, -9223372036854775808.0},
      {"-9223372036854775809", kNo, kNo, -9223372036854775809.0},  // a double
      {"9999999999999999999", kNo, 9999999999999999999u, 9999999999999999999.0},
      {"18446744073709551615", kNo, UINT64_MAX, 18446744073709551615.0},
      {"18446744073709551616", kNo, kNo, 18446744073709551616.0},
      {"-99999999999999999999", kNo, kNo, -99999999999999999999.0},
      {"1.0", kNo, kNo, 1.0},
      {"1e2", kNo, kNo, 100.0},
      {"-0.0", kNo, kNo, -0.0},
      {"0.5E-3", kNo, kNo, 0.0005},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto doc = parse_json(c.text);
    REQUIRE(doc.ok());
    CHECK(doc->is_number());
    CHECK(doc->int64() == c.int64);
    CHECK(doc->uint64() == c.uint64);
    CHECK(doc->number() == c.number);
    auto ref = detail::parse_json_reference(c.text);
    REQUIRE(ref.ok());
    CHECK(same_value(*doc, *ref));
    CHECK(json_dump(*doc) == json_dump(*ref));
  }
}

// parse_json reads most documents in one pass of its own and hands the rest to prescan and
// RapidJSON's reader. Whatever it accepts, that reference must accept too, with the very same
// values: mutants
// of valid documents (bytes flipped, dropped, duplicated, swapped for JSON-significant ones)
// check that over many near misses.
TEST_CASE("parse_json accepts nothing RapidJSON refuses, with the same values", "[json]") {
  const std::string seeds[] = {
      R"({"type": "chat:completion", "data": {"delta_content": " the \"proxy\"\n", "phase": "answer"}})",
      R"({"id":"x","choices":[{"index":0,"delta":{"content":"a\u00e9\ud83d\ude00"},"finish_reason":null}],"usage":{"prompt_tokens":15,"completion_tokens":7000}})",
      R"([1, -0, 2.5e-3, 18446744073709551615, -9223372036854775808, true, false, null, "", {}, []])",
      "{\"k\xC3\xA9y\": [\"\xE4\xB8\xAD\xF0\x9F\x98\x80\", \"\\/\\b\\f\\r\\t\\\\\", 1E+2, "
      "0.000001]}",
  };
  const std::string significant = "{}[]\",:\\\\u0123456789.eE+-tfn \t\r\n\x80\xBF\xC3\xED\xF4";
  zproxy::test::Xorshift32 rand(2463534242u);
  size_t accepted = 0, refused = 0;
  for (const std::string& seed : seeds) {
    for (int round = 0; round < 4000; ++round) {
      std::string text = seed;
      const int edits = 1 + static_cast<int>(rand() % 3);
      for (int e = 0; e < edits && !text.empty(); ++e) {
        const size_t at = rand() % text.size();
        switch (rand() % 4) {
          case 0: text[at] = significant[rand() % significant.size()]; break;
          case 1: text.erase(at, 1); break;
          case 2: text.insert(at, 1, text[rand() % text.size()]); break;
          default: text[at] = static_cast<char>(rand()); break;
        }
      }
      auto doc = parse_json(text);
      if (!doc.ok()) {
        ++refused;
        continue;
      }
      ++accepted;
      auto ref = detail::parse_json_reference(text);
      INFO(text);
      REQUIRE(ref.ok());
      REQUIRE(same_value(*doc, *ref));
    }
  }
  CHECK(accepted > 1000);  // the mutants exercise both outcomes
  CHECK(refused > 1000);
}

TEST_CASE("JsonEventParser reads documents one after another as parse_json does", "[json]") {
  JsonEventParser parser;
  std::string big = "{\"a\":[";
  for (int i = 0; i < 2000; ++i) big += (i ? ",\"x\\n" : "\"x\\n") + std::to_string(i) + "\"";
  big += "],\"b\":\"" + std::string(20000, 'y') + "\"}";
  const std::string texts[] = {
      R"({"type":"chat:completion","data":{"delta_content":"hi","phase":"answer"}})",
      big,  // more than the first pool buffer, escapes included
      R"({"a":"\u00e9\"","n":-12,"d":2.5})",
      "[]",
      "{\"deep\":" + nested(60) + "}",
  };
  for (const std::string& text : texts) {
    INFO(text.substr(0, 80));
    auto expected = parse_json(text);
    REQUIRE(expected.ok());
    auto got = parser.parse(text);
    REQUIRE(got.ok());
    CHECK(json_dump(*got) == json_dump(*expected));
    CHECK(same_value(*got, *expected));
  }
  SECTION("errors are parse_json's, and the parser reads on after one") {
    for (std::string_view bad : {"{", "{}x", "[1e000001]", "\"\\udc00\"", "\"\xC0\xAF\""}) {
      auto got = parser.parse(bad);
      auto expected = parse_json(bad);
      REQUIRE_FALSE(got.ok());
      REQUIRE_FALSE(expected.ok());
      CHECK(got.error().message == expected.error().message);
    }
    CHECK(parser.parse("[1,2,3]", {.max_values = 3}).error().code == Errc::kRequestTooLarge);
    CHECK(parser.parse(nested(65)).error().message ==
          "Invalid JSON at byte 64: nesting deeper than 64 levels");
    auto ok = parser.parse(R"({"s":"v"})");
    REQUIRE(ok.ok());
    CHECK(ok->member("s").string() == "v");
  }
  SECTION("nesting beyond its own stack goes to the reference parser") {
    auto deep = parser.parse(nested(1000), {.max_depth = 1000});
    REQUIRE(deep.ok());
    CHECK(deep->is_array());
    CHECK(deep->size() == 1);
  }
}
