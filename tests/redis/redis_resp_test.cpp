// RESP through hiredis's formatter and reader (native/redis_resp.h): replies in any chunking,
// nested arrays, the 1 MiB cap on a reply still being read, and protocol errors.

#include <catch2/catch.hpp>

#include <string>

#include "native/redis_resp.h"

namespace zproxy {

using native::RespReader;

TEST_CASE("append_command writes RESP arrays of bulk strings", "[redis]") {
  std::string out;
  native::append_command(out, {"SET", "k", std::string_view("a\0b", 3)});
  CHECK(out == std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n", 29));

  RedisCall call;
  call.keys = {"zp:{pool}:m"};
  call.args = {"", "cid"};
  out.clear();
  native::append_script_call(out, call, "0123", false);
  CHECK(out ==
        "*6\r\n$7\r\nEVALSHA\r\n$4\r\n0123\r\n$1\r\n1\r\n$11\r\nzp:{pool}:m\r\n$0\r\n\r\n"
        "$3\r\ncid\r\n");
}

TEST_CASE("RespReader: the same replies at every split point", "[redis]") {
  const std::string wire =
      "+OK\r\n:-42\r\n$5\r\nhello\r\n$-1\r\n-NOSCRIPT No matching script\r\n"
      "*2\r\n*3\r\n$2\r\naa\r\n:2\r\n:500\r\n*0\r\n";
  for (size_t split = 0; split <= wire.size(); ++split) {
    INFO("split at " << split);
    RespReader reader;
    std::vector<RespValue> got;
    for (const std::string& part : {wire.substr(0, split), wire.substr(split)}) {
      REQUIRE(reader.feed(part.data(), part.size()));
      RespValue v;
      while (reader.next(v) == RespReader::Next::kReply) got.push_back(v);
    }
    REQUIRE(got.size() == 6);
    CHECK(got[0].type == RespValue::Type::kStatus);
    CHECK(got[0].text == "OK");
    CHECK(got[1].integer == -42);
    CHECK(got[2].text == "hello");
    CHECK(got[3].type == RespValue::Type::kNil);
    CHECK(got[4].type == RespValue::Type::kError);
    CHECK(got[4].text.starts_with("NOSCRIPT"));
    REQUIRE(got[5].elements.size() == 2);
    REQUIRE(got[5].elements[0].elements.size() == 3);
    CHECK(got[5].elements[0].elements[0].text == "aa");
    CHECK(got[5].elements[0].elements[2].integer == 500);
    CHECK(got[5].elements[1].type == RespValue::Type::kArray);
    CHECK(got[5].elements[1].elements.empty());
  }
}

TEST_CASE("RespReader: a reply over 1 MiB is an error", "[redis]") {
  RespReader reader;
  const std::string head = "$2000000\r\n";
  REQUIRE(reader.feed(head.data(), head.size()));
  const std::string chunk(64 * 1024, 'x');
  RespValue v;
  RespReader::Next next = RespReader::Next::kNeedMore;
  size_t fed = head.size();
  while (next == RespReader::Next::kNeedMore && fed < 2 * RespReader::kMaxReplyBytes) {
    reader.feed(chunk.data(), chunk.size());
    fed += chunk.size();
    next = reader.next(v);
  }
  CHECK(next == RespReader::Next::kError);
  CHECK(fed > RespReader::kMaxReplyBytes);
  CHECK(fed <= RespReader::kMaxReplyBytes + head.size() + chunk.size());
  CHECK_FALSE(reader.feed("+OK\r\n", 5));  // final

  // Many small replies add up to more than the cap without tripping it.
  RespReader many;
  const std::string reply = "$1000\r\n" + std::string(1000, 'y') + "\r\n";
  size_t replies = 0;
  for (int i = 0; i < 2000; ++i) {
    REQUIRE(many.feed(reply.data(), reply.size()));
    while (many.next(v) == RespReader::Next::kReply) ++replies;
  }
  CHECK(replies == 2000);
}

TEST_CASE("RespReader: a protocol error is final", "[redis]") {
  RespReader reader;
  const std::string junk = "?what\r\n";
  reader.feed(junk.data(), junk.size());
  RespValue v;
  CHECK(reader.next(v) == RespReader::Next::kError);
  CHECK(reader.next(v) == RespReader::Next::kError);
}

}  // namespace zproxy
