// tests/fixtures/state/vectors.json against the memory backend (MemoryStore, through the JSON
// form of operations a Durable Object receives): the semantics every state-store backend must
// give.

#include <catch2/catch.hpp>

#include <string>

#include "json/json.h"
#include "state/store.h"
#include "support/state_vectors.h"

namespace zproxy {

TEST_CASE("state store vectors: the memory backend", "[keys][state]") {
  const std::string vectors = test::read_state_vectors();
  auto doc = parse_json(vectors);
  REQUIRE(doc.ok());
  const JsonValue cases = doc->member("cases");
  REQUIRE(cases.size() >= 5);
  size_t checked = 0;
  for (const JsonValue c : cases.elements()) {
    INFO(c.member("name").string());
    MemoryStore store;
    for (const JsonValue step : c.member("steps").elements()) {
      const std::string op_json = test::json_text(step);
      INFO(op_json);
      const std::string reply_text = apply_store_json(store, op_json, 0);
      INFO(reply_text);
      checked += test::check_step_reply(step, reply_text);
      // The reply's JSON form decodes to what the store said (the Worker's side of the call).
      int64_t at = 0;
      auto op = parse_store_op(op_json, &at);
      REQUIRE(op.ok());
      CHECK(parse_store_reply(op->kind, reply_text).ok());
    }
  }
  CHECK(checked >= 50);
}

TEST_CASE("state store: bad operations are refused, not applied", "[state]") {
  MemoryStore store;
  for (const char* bad :
       {"", "[]", "{}", R"({"op":"steal"})", R"({"op":"admit"})",
        R"({"op":"admit","key":"a","ttl_ms":0,"lease":"x"})", R"({"op":"mark","mark":"dead"})",
        R"({"op":"mark","cid":"c","mark":"zombie","ttl_ms":5})", R"({"op":"clear"})"}) {
    INFO(bad);
    const std::string reply = apply_store_json(store, bad, 1000);
    CHECK(reply.find("\"error\"") != std::string::npos);
  }
  CHECK(store.dump() == R"({"keys":{},"leases":{},"marks":{}})");
}

TEST_CASE("state store: dump and load keep counters, leases and marks", "[state]") {
  MemoryStore a;
  const int64_t t = 1780315200000;
  CHECK(apply_store_json(
            a, R"({"op":"admit","key":"k","limits":{"rpm":5},"lease":"l","ttl_ms":30000})", t)
            .find("\"admitted\":true") != std::string::npos);
  apply_store_json(a, R"({"op":"settle","key":"k","lease":"none","tokens":42})", t);
  apply_store_json(a, R"({"op":"mark","cid":"0123456789abcdef","mark":"dead","ttl_ms":9000})", t);
  MemoryStore b;
  REQUIRE(b.load(a.dump()).ok());
  CHECK(b.dump() == a.dump());
  const std::string usage = apply_store_json(b, R"({"op":"usage","key":"k"})", t + 1000);
  CHECK(usage.find("\"requests_this_window\":1,\"concurrent\":1,\"tokens_today\":42") !=
        std::string::npos);
  CHECK(apply_store_json(b, R"({"op":"health"})", t + 1000) ==
        R"({"health":[["0123456789abcdef","dead",8000]]})");
  MemoryStore c;
  CHECK_FALSE(c.load("{\"keys\":{\"k\":[1,2]}}").ok());
  CHECK_FALSE(c.load("not json").ok());
  CHECK(c.dump() == R"({"keys":{},"leases":{},"marks":{}})");
}

}  // namespace zproxy
