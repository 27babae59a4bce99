#include "json/writer.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "json/json.h"
#include "json/reference.h"
#include "xorshift.h"

using namespace zproxy;

namespace {

template <class Write>
std::string written(Write write) {
  JsonBuffer buf;
  JsonWriter w(buf);
  write(w);
  return buf.take();
}

}  // namespace

TEST_CASE("JsonWriter escapes exactly as RapidJSON's Writer", "[json]") {
  CHECK(written([](JsonWriter& w) {
          w.StartObject();
          w.Key("k");
          w.String(std::string_view("q\"\\\n\x01\xC3\xA9", 7));
          w.EndObject();
        }) == "{\"k\":\"q\\\"\\\\\\n\\u0001\xC3\xA9\"}");
  // Every byte alone: control bytes escaped (upper-case hex), '"' and '\\' escaped, '/' and
  // DEL and every byte >= 0x80 copied (the writer does not validate: parsed text is valid).
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string out = written([&](JsonWriter& w) { w.String(all); });
  CHECK(out == detail::rapidjson_write_string(all));
  const std::string_view head =
      "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000B\\f\\r\\u000E"
      "\\u000F\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001A"
      "\\u001B\\u001C\\u001D\\u001E\\u001F !\\\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMN";
  CHECK(out.substr(0, head.size()) == head);
  CHECK(out.substr(out.size() - 130, 2) == "\x7F\x80");
  // Embedded NUL in a key.
  CHECK(written([](JsonWriter& w) {
          w.StartObject();
          w.Key(std::string_view("k\0", 2));
          w.String("v");
          w.EndObject();
        }) == "{\"k\\u0000\":\"v\"}");
}

TEST_CASE("JsonWriter escapes random strings as RapidJSON's Writer", "[json]") {
  zproxy::test::Xorshift32 rand(2463534242u);
  const std::string_view alphabet("ab \"\\/\n\r\t\x01\x1F\x7F\xC3\xA9\xE2\x80\xA6\0", 18);
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    const size_t n = rand() % 40;
    for (size_t i = 0; i < n; ++i) {
      s += rand() % 4 == 0 ? static_cast<char>(rand()) : alphabet[rand() % alphabet.size()];
    }
    INFO(s);
    REQUIRE(written([&](JsonWriter& w) { w.String(s); }) == detail::rapidjson_write_string(s));
  }
}

TEST_CASE("JsonWriter writes numbers as RapidJSON's Writer", "[json]") {
  CHECK(written([](JsonWriter& w) {
          w.StartArray();
          w.Int(std::numeric_limits<int>::min());
          w.Uint(std::numeric_limits<unsigned>::max());
          w.Int64(INT64_MIN);
          w.Uint64(UINT64_MAX);
          w.Double(-0.0);
          w.Double(1e21);
          w.Double(0.0001);
          w.Double(1.0);
          w.Double(5e-324);
          w.Double(1.7976931348623157e308);
          w.EndArray();
        }) ==
        "[-2147483648,4294967295,-9223372036854775808,18446744073709551615,-0.0,1e21,"
        "0.0001,1.0,5e-324,1.7976931348623157e308]");
  // NaN and infinity are refused after the separator, as RapidJSON does.
  bool refused = false;
  CHECK(written([&](JsonWriter& w) {
          w.StartArray();
          w.Int(1);
          refused = !w.Double(std::numeric_limits<double>::quiet_NaN());
          w.EndArray();
        }) == "[1,]");
  CHECK(refused);
  // Random bit patterns, every finite double alike.
  zproxy::test::Xorshift32 rand(88172645u);
  for (int round = 0; round < 20000; ++round) {
    const uint64_t bits = (uint64_t{rand()} << 32) | rand();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    INFO(bits);
    REQUIRE(written([&](JsonWriter& w) { w.Double(d); }) == detail::rapidjson_write_double(d));
  }
}

TEST_CASE("JsonWriter separates members and elements as RapidJSON's Writer", "[json]") {
  CHECK(written([](JsonWriter& w) {
          w.StartObject();
          w.Key("a");
          w.StartArray();
          w.Null();
          w.Bool(true);
          w.StartObject();
          w.EndObject();
          w.StartArray();
          w.EndArray();
          w.EndArray();
          w.Key("b");
          w.Bool(false);
          w.EndObject();
        }) == "{\"a\":[null,true,{},[]],\"b\":false}");
}

TEST_CASE("JsonWriter copies parsed values", "[json]") {
  const std::string text =
      R"({"k":[1,-2,3.25,"s\n",{"":null,"d":[]},true,false],"dup":1,"dup":2,"u":18446744073709551615})";
  auto doc = parse_json(text);
  REQUIRE(doc.ok());
  const std::string copied = written([&](JsonWriter& w) {
    w.StartArray();
    w.Value(doc->member("k"));
    w.Value(*doc);
    w.EndArray();
  });
  CHECK(copied == "[[1,-2,3.25,\"s\\n\",{\"\":null,\"d\":[]},true,false]," + text + "]");
  CHECK(json_dump(*doc) == detail::rapidjson_dump(*doc));
  JsonBuffer buf;
  JsonWriter w(buf);
  CHECK_FALSE(w.Value(doc->member("missing")));  // an absent value writes nothing
  CHECK(buf.view().empty());
}

TEST_CASE("JsonWriter copies raw JSON text as a value", "[json]") {
  // A tool's parameter schema travels as compact JSON text and goes upstream as is.
  CHECK(written([](JsonWriter& w) {
          w.StartObject();
          w.Key("parameters");
          w.RawValue(R"({"type":"object"})");
          w.Key("n");
          w.Int(1);
          w.EndObject();
        }) == R"({"parameters":{"type":"object"},"n":1})");
  CHECK(written([](JsonWriter& w) {
          w.StartArray();
          w.RawValue("1");
          w.RawValue("{}");
          w.EndArray();
        }) == "[1,{}]");
}
