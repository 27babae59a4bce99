#include "json/value.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "json/json.h"

using namespace zproxy;

TEST_CASE("json values: members, duplicates, absent and mistyped", "[json]") {
  auto doc = parse_json(
      "{\"s\":\"text\",\"n\":5,\"o\":{\"s\":\"inner\"},\"dup\":\"first\",\"dup\":\"last\","
      "\"a\\u0000b\":\"nul\",\"a\":\"plain\",\"z\":null}");
  REQUIRE(doc.ok());
  const JsonValue root = *doc;

  CHECK(root.member("s").string() == "text");
  CHECK(root.member("n").string("fb") == "fb");
  CHECK(root.member("missing").string("fb") == "fb");
  CHECK(root.member("missing").string().empty());
  CHECK(root.member("dup").string() == "last");  // the last duplicate wins
  CHECK(root.member("a").string() == "plain");
  CHECK(root.member(std::string_view("a\0b", 3)).string() == "nul");
  CHECK(root.member("o").member("s").string() == "inner");
  CHECK(root.size() == 8);

  CHECK(root.member("z"));  // JSON null is present
  CHECK(root.member("z").is_null());
  const JsonValue missing = root.member("missing");
  CHECK_FALSE(missing);
  CHECK_FALSE(missing.is_null());
  CHECK_FALSE(missing.member("x"));           // members of an absent value are absent
  CHECK_FALSE(root.member("n").member("x"));  // not an object
  CHECK_FALSE(root.element(0));               // not an array
  CHECK(missing.size() == 0);
  CHECK(root.member("s").size() == 0);  // a string has no elements

  std::vector<std::string> keys;
  for (const JsonMember m : root.members()) keys.emplace_back(m.key);
  CHECK(keys ==
        std::vector<std::string>{"s", "n", "o", "dup", "dup", std::string("a\0b", 3), "a", "z"});
  int elements = 0;
  for (const JsonValue v : root.elements()) elements += v ? 1 : 0;
  CHECK(elements == 0);  // an object has no elements
  for (const JsonMember m : root.member("n").members()) FAIL(m.key);
}

TEST_CASE("json values: kinds and number ranges", "[json]") {
  auto doc = parse_json(
      R"([null, true, false, 0, -1, 4294967296, 18446744073709551615, 1.5, "7", [1], {}])");
  REQUIRE(doc.ok());
  const JsonValue a = *doc;
  REQUIRE(a.is_array());
  CHECK(a.size() == 11);

  CHECK(a.element(0).is_null());
  CHECK(a.element(1).boolean() == true);
  CHECK(a.element(2).boolean() == false);
  CHECK(a.element(2).is_bool());
  CHECK(a.element(0).boolean() == std::nullopt);

  CHECK(a.element(3).int64() == 0);
  CHECK(a.element(3).uint64() == 0u);
  CHECK(a.element(4).int64() == -1);
  CHECK(a.element(4).uint64() == std::nullopt);
  CHECK(a.element(4).number() == -1.0);
  CHECK(a.element(5).int64() == 4294967296);
  CHECK(a.element(6).int64() == std::nullopt);
  CHECK(a.element(6).uint64() == UINT64_MAX);
  CHECK(a.element(7).int64() == std::nullopt);
  CHECK(a.element(7).number() == 1.5);
  CHECK(a.element(7).is_number());

  const JsonValue text = a.element(8);
  CHECK(text.is_string());
  CHECK(text.int64() == std::nullopt);  // no conversions between kinds
  CHECK(text.number() == std::nullopt);
  CHECK(text.string() == "7");
  CHECK(a.element(9).is_array());
  CHECK(a.element(9).element(0).int64() == 1);
  CHECK_FALSE(a.element(9).element(1));
  CHECK(a.element(10).is_object());
  CHECK(a.element(10).size() == 0);
  CHECK_FALSE(a.element(11));  // out of range

  std::vector<std::string> dumped;
  for (const JsonValue v : a.elements()) dumped.push_back(json_dump(v));
  CHECK(dumped == std::vector<std::string>{"null", "true", "false", "0", "-1", "4294967296",
                                           "18446744073709551615", "1.5", "\"7\"", "[1]", "{}"});
}

TEST_CASE("json values: a default view is absent and reads as nothing", "[json]") {
  const JsonValue v;
  CHECK_FALSE(v);
  CHECK_FALSE(v.is_null());
  CHECK_FALSE(v.is_bool());
  CHECK_FALSE(v.is_number());
  CHECK_FALSE(v.is_string());
  CHECK_FALSE(v.is_array());
  CHECK_FALSE(v.is_object());
  CHECK(v.string("fb") == "fb");
  CHECK(v.size() == 0);
  CHECK(v.elements().begin() == v.elements().end());
  CHECK(v.members().begin() == v.members().end());
  CHECK(json_dump(v).empty());
}
