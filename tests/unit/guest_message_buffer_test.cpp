#include <catch2/catch.hpp>

#include <string>

#include "upstream/guest/message_buffer.h"

using zproxy::guest::MessageBuffer;

TEST_CASE("guest message buffer: code-point offsets", "[guest][buffer]") {
  MessageBuffer m(1 << 20);
  // a (1 byte), é (2), 中 (3), 😀 (4, astral plane), b (1)
  REQUIRE(
      m.append("a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80"
               "b"));
  CHECK(m.code_points() == 5);
  struct Row {
    uint64_t cp;
    size_t byte;
  };
  for (Row r : {Row{0, 0}, Row{1, 1}, Row{2, 3}, Row{3, 6}, Row{4, 10}, Row{5, 11}, Row{99, 11}}) {
    INFO("code point " << r.cp);
    CHECK(m.byte_offset(r.cp) == r.byte);
  }
}

TEST_CASE("guest message buffer: edits replace from a code point", "[guest][buffer]") {
  MessageBuffer m(1 << 20);
  REQUIRE(m.append("你好😀世界"));
  size_t at = 0;

  SECTION("after the emoji") {
    REQUIRE(m.replace_from(3, "!", at));
    CHECK(m.view() == "你好😀!");
    CHECK(at == 10);
    CHECK(m.code_points() == 4);
  }
  SECTION("at the emoji") {
    REQUIRE(m.replace_from(2, "🎉x", at));
    CHECK(m.view() == "你好🎉x");
    CHECK(m.code_points() == 4);
  }
  SECTION("at zero") {
    REQUIRE(m.replace_from(0, "", at));
    CHECK(m.view().empty());
    CHECK(m.code_points() == 0);
    CHECK(at == 0);
  }
  SECTION("out of range clamps to the end (an append)") {
    REQUIRE(m.replace_from(1000, "+", at));
    CHECK(m.view() == "你好😀世界+");
    CHECK(at == std::string("你好😀世界").size());
  }
  SECTION("exactly at the end") {
    REQUIRE(m.replace_from(5, "+", at));
    CHECK(m.view() == "你好😀世界+");
  }
}

TEST_CASE("guest message buffer: long buffers across index blocks", "[guest][buffer]") {
  // 3000 emoji (12000 bytes) then ASCII: offsets cross several 4096-byte index blocks, whose
  // boundaries fall inside 4-byte sequences.
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "😀";
  text += "tail";
  MessageBuffer m(1 << 20);
  REQUIRE(m.append(text.substr(0, 5001)));  // split inside a sequence on purpose
  REQUIRE(m.append(text.substr(5001)));
  CHECK(m.code_points() == 3004);
  for (uint64_t cp : {0u, 1u, 1023u, 1024u, 1025u, 2047u, 2999u}) {
    CHECK(m.byte_offset(cp) == cp * 4);
  }
  CHECK(m.byte_offset(3000) == 12000);
  CHECK(m.byte_offset(3003) == 12003);

  size_t at = 0;
  REQUIRE(m.replace_from(2048, "中", at));
  CHECK(at == 8192);
  CHECK(m.code_points() == 2049);
  CHECK(m.size() == 8195);
  REQUIRE(m.append(std::string(5000, 'x')));
  CHECK(m.code_points() == 7049);
  CHECK(m.byte_offset(2048) == 8192);
  CHECK(m.byte_offset(2049) == 8195);
  CHECK(m.byte_offset(7048) == 13194);
  REQUIRE(m.replace_from(1, "", at));
  CHECK(m.view() == "😀");
}

TEST_CASE("guest message buffer: size cap", "[guest][buffer]") {
  MessageBuffer m(8);
  REQUIRE(m.append("12345"));
  CHECK_FALSE(m.append("6789"));
  CHECK(m.view() == "12345");
  size_t at = 0;
  CHECK_FALSE(m.replace_from(1, "123456789", at));
  CHECK(m.view() == "12345");
  REQUIRE(m.replace_from(1, "2345678", at));
  CHECK(m.view() == "12345678");
}

TEST_CASE("guest message buffer: stray continuation bytes are not code points", "[guest][buffer]") {
  MessageBuffer m(64);
  REQUIRE(
      m.append("a\x80\x80"
               "b"));
  CHECK(m.code_points() == 2);
  CHECK(m.byte_offset(1) == 3);
}
