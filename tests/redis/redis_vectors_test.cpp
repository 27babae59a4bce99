// tests/fixtures/state/vectors.json against the Redis backend: each step goes to a real
// redis-server as the script call redis_call() makes (with the step's time as `at`) and its
// reply is decoded by parse_redis_reply(), then checked as the memory backend's test checks it.

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "json/json.h"
#include "state/redis_ops.h"
#include "support/redis_server.h"

namespace zproxy {

namespace {

std::string_view limit_name(Limit l) {
  switch (l) {
    case Limit::kNone: return "";
    case Limit::kRpm: return "rpm";
    case Limit::kConcurrency: return "concurrency";
    case Limit::kTokensPerDay: return "tokens_per_day";
    case Limit::kTokensPerMonth: return "tokens_per_month";
  }
  return "?";
}

std::string_view mark_name(CredMark m) {
  switch (m) {
    case CredMark::kNone: return "";
    case CredMark::kCool: return "cool";
    case CredMark::kDead: return "dead";
  }
  return "?";
}

std::optional<StoreOpKind> op_kind(std::string_view op) {
  static const std::map<std::string_view, StoreOpKind> kinds = {
      {"admit", StoreOpKind::kAdmit},   {"renew", StoreOpKind::kRenew},
      {"settle", StoreOpKind::kSettle}, {"usage", StoreOpKind::kUsage},
      {"mark", StoreOpKind::kMark},     {"clear", StoreOpKind::kClear},
      {"health", StoreOpKind::kHealth}};
  const auto it = kinds.find(op);
  if (it == kinds.end()) return std::nullopt;
  return it->second;
}

// The step as an operation. A renew step names its lease; its key is the step's, or else the
// key the lease was admitted under.
StoreOp step_op(StoreOpKind kind, JsonValue step, const std::map<std::string, std::string>& owner) {
  StoreOp op;
  op.kind = kind;
  op.key = std::string(step.member("key").string());
  op.lease = std::string(step.member("lease").string());
  if (op.key.empty() && owner.count(op.lease) > 0) op.key = owner.at(op.lease);
  op.ttl_ms = step.member("ttl_ms").int64().value_or(0);
  op.tokens = step.member("tokens").int64().value_or(0);
  op.cid = std::string(step.member("cid").string());
  const std::string_view mark = step.member("mark").string();
  op.mark = mark == "dead" ? CredMark::kDead : mark == "cool" ? CredMark::kCool : CredMark::kNone;
  const JsonValue l = step.member("limits");
  if (auto v = l.member("rpm").int64()) op.limits.rpm = *v;
  if (auto v = l.member("max_concurrent").int64()) op.limits.max_concurrent = *v;
  if (auto v = l.member("tokens_per_day").int64()) op.limits.tokens_per_day = *v;
  if (auto v = l.member("tokens_per_month").int64()) op.limits.tokens_per_month = *v;
  return op;
}

void check_usage(const KeyUsage& u, JsonValue expect) {
  if (auto v = expect.member("requests_this_window").int64()) CHECK(u.requests_this_window == *v);
  if (auto v = expect.member("concurrent").int64()) CHECK(u.concurrent == *v);
  if (auto v = expect.member("tokens_today").int64()) CHECK(u.tokens_today == *v);
  if (auto v = expect.member("tokens_this_month").int64()) CHECK(u.tokens_this_month == *v);
}

void check(StoreOpKind kind, const StoreReply& r, JsonValue expect) {
  switch (kind) {
    case StoreOpKind::kAdmit: {
      const Admission& a = r.admission;
      if (expect.member("admitted").boolean().value_or(false)) CHECK(a.refused == Limit::kNone);
      if (const JsonValue refused = expect.member("refused")) {
        CHECK(limit_name(a.refused) == refused.string());
      }
      if (auto v = expect.member("retry_after_ms").int64()) CHECK(a.retry_after_ms == *v);
      if (auto v = expect.member("rpm_remaining").int64()) CHECK(a.rpm_remaining == *v);
      if (auto v = expect.member("rpm_reset_ms").int64()) CHECK(a.rpm_reset_ms == *v);
      check_usage(r.usage, expect.member("usage"));
      break;
    }
    case StoreOpKind::kRenew:
      if (auto v = expect.member("live").boolean()) CHECK(r.live == *v);
      break;
    case StoreOpKind::kClear:
      if (auto v = expect.member("cleared").boolean()) CHECK(r.cleared == *v);
      break;
    case StoreOpKind::kSettle:
    case StoreOpKind::kUsage:
      check_usage(r.usage, expect);
      check_usage(r.usage, expect.member("usage"));
      break;
    case StoreOpKind::kHealth: {
      const JsonValue marks = expect.member("health");
      if (!marks) break;
      REQUIRE(r.health.size() == marks.size());
      for (size_t i = 0; i < marks.size(); ++i) {
        const JsonValue m = marks.element(i);
        CHECK(r.health[i].cid == m.member("cid").string());
        CHECK(mark_name(r.health[i].mark) == m.member("mark").string());
        if (auto v = m.member("remaining_ms").int64()) CHECK(r.health[i].remaining_ms == *v);
      }
      break;
    }
    case StoreOpKind::kMark: break;
  }
}

std::string read_vectors() {
  std::ifstream in(std::string(ZPROXY_FIXTURE_DIR) + "/state/vectors.json");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

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

  const std::string text = read_vectors();
  auto doc = parse_json(text);
  REQUIRE(doc.ok());
  const JsonValue cases = doc->member("cases");
  REQUIRE(cases.size() >= 3);
  size_t steps = 0;
  for (const JsonValue c : cases.elements()) {
    INFO(c.member("name").string());
    // Each case starts empty, under a prefix of its own.
    const std::string prefix = "vec" + std::to_string(steps) + ":";
    std::map<std::string, std::string> owner;  // lease → key
    for (const JsonValue step : c.member("steps").elements()) {
      ++steps;
      const int64_t at = *step.member("at").int64();
      const std::string_view name = step.member("op").string();
      INFO(name << " at " << at);
      const std::optional<StoreOpKind> kind = op_kind(name);
      if (!kind) FAIL("unknown op " << name);
      const StoreOp op = step_op(*kind, step, owner);
      if (op.kind == StoreOpKind::kAdmit && !op.lease.empty()) owner[op.lease] = op.key;

      const RedisCall call = redis_call(op, prefix, at);
      std::vector<std::string_view> argv = {"EVALSHA", shas.at(call.script)};
      const std::string nkeys = std::to_string(call.keys.size());
      argv.push_back(nkeys);
      for (const std::string& k : call.keys) argv.push_back(k);
      for (const std::string& a : call.args) argv.push_back(a);
      const RespValue reply = redis.call(argv);
      INFO("reply: " << reply.text);
      const Result<StoreReply> r = parse_redis_reply(op.kind, reply);
      REQUIRE(r.ok());
      check(op.kind, *r, step.member("expect"));
    }
  }
  CHECK(steps >= 20);
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
