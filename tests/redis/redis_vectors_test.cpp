// tests/fixtures/state/vectors.json against the Redis backend: each step goes to a real
// redis-server as the script call redis_call() makes (with the step's time as `at`), its reply
// is decoded by parse_redis_reply() and checked as the memory backend's test checks it. Then
// what the vectors leave out: key expiry and the purging of lapsed entries.

#include <catch2/catch.hpp>

#include <string>

#include "json/json.h"
#include "state/redis_ops.h"
#include "state/store.h"
#include "support/redis_server.h"
#include "support/state_vectors.h"

namespace zproxy {

namespace {

// The script call of `op` at `at` through EVALSHA, decoded.
Result<StoreReply> run(test::BlockingRedis& redis, const std::vector<std::string>& shas,
                       const StoreOp& op, std::string_view prefix, int64_t at) {
  const RedisCall call = redis_call(op, prefix, at);
  std::vector<std::string_view> argv = {"EVALSHA", shas.at(call.script)};
  const std::string nkeys = std::to_string(call.keys.size());
  argv.push_back(nkeys);
  for (const std::string& k : call.keys) argv.push_back(k);
  for (const std::string& a : call.args) argv.push_back(a);
  const RespValue reply = redis.call(argv);
  INFO("reply: " << reply.text);
  return parse_redis_reply(op.kind, reply);
}

}  // namespace

// Each step is parsed as the memory backend's test parses it (the operation's JSON form), run
// as a script, and its reply written back in JSON (store_reply_json) to be checked member by
// member: the same expectations, the same comparison.
TEST_CASE("state store vectors: the Redis backend", "[redis][state]") {
  test::RedisServer server;
  REQUIRE(server.error() == "");
  test::BlockingRedis redis(server.port());
  REQUIRE(redis.connected());

  std::vector<std::string> shas;
  for (size_t i = 0; i < redis_script_count(); ++i) {
    const RespValue sha = redis.call({"SCRIPT", "LOAD", redis_script(i)});
    INFO("script " << i << ": " << sha.text);
    REQUIRE(sha.type == RespValue::Type::kString);
    shas.push_back(sha.text);
  }

  const std::string vectors = test::read_state_vectors();
  auto doc = parse_json(vectors);
  REQUIRE(doc.ok());
  const JsonValue cases = doc->member("cases");
  REQUIRE(cases.size() >= 5);
  size_t checked = 0;
  size_t n = 0;
  for (const JsonValue c : cases.elements()) {
    INFO(c.member("name").string());
    const std::string prefix = "case" + std::to_string(n++) + ":";  // each case starts empty
    for (const JsonValue step : c.member("steps").elements()) {
      const std::string op_json = test::json_text(step);
      INFO(op_json);
      int64_t at = -1;
      const Result<StoreOp> op = parse_store_op(op_json, &at);
      REQUIRE(op.ok());
      REQUIRE(at >= 0);
      const Result<StoreReply> r = run(redis, shas, *op, prefix, at);
      REQUIRE(r.ok());
      const std::string reply_text = store_reply_json(*op, *r);
      INFO(reply_text);
      checked += test::check_step_reply(step, reply_text);
    }
  }
  CHECK(checked >= 50);
}

TEST_CASE("Redis scripts: keys expire, expired entries are purged", "[redis][state]") {
  test::RedisServer server;
  REQUIRE(server.error() == "");
  test::BlockingRedis redis(server.port());
  REQUIRE(redis.connected());
  auto run = [&](const StoreOp& op, int64_t at) {
    const RedisCall call = redis_call(op, "zp:", at);
    std::vector<std::string_view> argv = {"EVAL", redis_script(call.script)};
    const std::string nkeys = std::to_string(call.keys.size());
    argv.push_back(nkeys);
    for (const std::string& k : call.keys) argv.push_back(k);
    for (const std::string& a : call.args) argv.push_back(a);
    return redis.call(argv);
  };
  const int64_t t = 1780315200000;  // 2026-06-01T12:00:00Z
  StoreOp admit;
  admit.kind = StoreOpKind::kAdmit;
  admit.key = "team-a";
  admit.limits.rpm = 10;
  admit.lease = "lease-1";
  admit.ttl_ms = 30000;
  REQUIRE(parse_redis_reply(StoreOpKind::kAdmit, run(admit, t)).ok());

  // Counters live until the month's end, leases until their expiry.
  const RespValue counters_ttl = redis.call({"PTTL", "zp:{k:team-a}:c"});
  REQUIRE(counters_ttl.type == RespValue::Type::kInteger);
  CHECK(counters_ttl.integer > 86400000LL * 29);
  CHECK(counters_ttl.integer <= 86400000LL * 30 - 12 * 3600000LL);
  const RespValue leases_ttl = redis.call({"PTTL", "zp:{k:team-a}:l"});
  REQUIRE(leases_ttl.type == RespValue::Type::kInteger);
  CHECK(leases_ttl.integer > 29000);
  CHECK(leases_ttl.integer <= 30000);

  StoreOp mark;
  mark.kind = StoreOpKind::kMark;
  mark.cid = "00112233445566aa";
  mark.mark = CredMark::kCool;
  mark.ttl_ms = 5000;
  REQUIRE(parse_redis_reply(StoreOpKind::kMark, run(mark, t)).ok());
  mark.cid = "00112233445566bb";
  mark.mark = CredMark::kDead;
  mark.ttl_ms = 86400000;
  REQUIRE(parse_redis_reply(StoreOpKind::kMark, run(mark, t)).ok());
  const RespValue marks_ttl = redis.call({"PTTL", "zp:{pool}:m"});
  CHECK(marks_ttl.integer > 86000000);

  // At t + 6 s the cool mark has lapsed: health leaves it out and the hash no longer holds it.
  StoreOp health;
  health.kind = StoreOpKind::kHealth;
  const Result<StoreReply> h = parse_redis_reply(StoreOpKind::kHealth, run(health, t + 6000));
  REQUIRE(h.ok());
  REQUIRE(h->health.size() == 1);
  CHECK(h->health[0].cid == "00112233445566bb");
  CHECK(h->health[0].mark == CredMark::kDead);
  CHECK(h->health[0].remaining_ms == 86400000 - 6000);
  const RespValue left = redis.call({"HLEN", "zp:{pool}:m"});
  CHECK(left.integer == 1);
}

TEST_CASE("Redis scripts: credential marks", "[redis][state]") {
  test::RedisServer server;
  REQUIRE(server.error() == "");
  test::BlockingRedis redis(server.port());
  REQUIRE(redis.connected());
  auto run = [&](const StoreOp& op, int64_t at) {
    const RedisCall call = redis_call(op, "m:", at);
    std::vector<std::string_view> argv = {"EVAL", redis_script(call.script)};
    const std::string nkeys = std::to_string(call.keys.size());
    argv.push_back(nkeys);
    for (const std::string& k : call.keys) argv.push_back(k);
    for (const std::string& a : call.args) argv.push_back(a);
    const Result<StoreReply> r = parse_redis_reply(op.kind, redis.call(argv));
    REQUIRE(r.ok());
    return *r;
  };
  auto mark = [&](std::string cid, CredMark m, int64_t ttl, int64_t at) {
    StoreOp op;
    op.kind = StoreOpKind::kMark;
    op.cid = std::move(cid);
    op.mark = m;
    op.ttl_ms = ttl;
    run(op, at);
  };
  StoreOp health;
  health.kind = StoreOpKind::kHealth;
  StoreOp clear;
  clear.kind = StoreOpKind::kClear;
  const int64_t t = 1000000;

  mark("b", CredMark::kCool, 10000, t);
  mark("b", CredMark::kCool, 5000, t);   // the longer cool mark stays
  mark("a", CredMark::kCool, 60000, t);  // a long cool mark …
  mark("a", CredMark::kDead, 20000, t);  // … gives way to a shorter dead one
  mark("a", CredMark::kCool, 90000, t);  // a cool mark never replaces a live dead one
  StoreReply h = run(health, t + 1000);
  REQUIRE(h.health.size() == 2);
  CHECK(h.health[0].cid == "a");
  CHECK(h.health[0].mark == CredMark::kDead);
  CHECK(h.health[0].remaining_ms == 19000);
  CHECK(h.health[1].cid == "b");
  CHECK(h.health[1].mark == CredMark::kCool);
  CHECK(h.health[1].remaining_ms == 9000);

  clear.cid = "a";
  CHECK(run(clear, t + 2000).cleared);
  CHECK_FALSE(run(clear, t + 2000).cleared);
  clear.cid = "b";
  CHECK_FALSE(run(clear, t + 10000).cleared);  // lapsed at t + 10 s: nothing to clear
  CHECK(run(health, t + 10000).health.empty());
}

}  // namespace zproxy
