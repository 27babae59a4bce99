// The Redis form of the state-store operations: keys and arguments of each call, and the
// decoding of script replies, malformed ones included (redis_vectors_test runs the scripts).

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "state/redis_ops.h"

namespace zproxy {

namespace {

RespValue integer(int64_t v) {
  RespValue r;
  r.type = RespValue::Type::kInteger;
  r.integer = v;
  return r;
}

RespValue text(std::string s, RespValue::Type type = RespValue::Type::kString) {
  RespValue r;
  r.type = type;
  r.text = std::move(s);
  return r;
}

RespValue array(std::vector<RespValue> e) {
  RespValue r;
  r.type = RespValue::Type::kArray;
  r.elements = std::move(e);
  return r;
}

RespValue integers(std::vector<int64_t> v) {
  std::vector<RespValue> e;
  for (int64_t x : v) e.push_back(integer(x));
  return array(std::move(e));
}

}  // namespace

TEST_CASE("redis_call: one slot per script, keys under the prefix", "[redis][state]") {
  StoreOp admit;
  admit.kind = StoreOpKind::kAdmit;
  admit.key = "team-a";
  admit.lease = "9f00";
  admit.ttl_ms = 30000;
  admit.limits.rpm = 60;
  admit.limits.tokens_per_month = 5000;
  const RedisCall a = redis_call(admit, "zp:", 1234);
  CHECK(a.script == static_cast<size_t>(StoreOpKind::kAdmit));
  CHECK(a.keys == std::vector<std::string>{"zp:{k:team-a}:c", "zp:{k:team-a}:l"});
  CHECK(a.args == std::vector<std::string>{"1234", "9f00", "30000", "60", "", "", "5000"});

  StoreOp renew;
  renew.kind = StoreOpKind::kRenew;
  renew.key = "team-a";
  renew.lease = "9f00";
  renew.ttl_ms = 30000;
  const RedisCall r = redis_call(renew, "x:");
  CHECK(r.keys == std::vector<std::string>{"x:{k:team-a}:l"});
  CHECK(r.args == std::vector<std::string>{"", "9f00", "30000"});  // "": the store's clock

  StoreOp mark;
  mark.kind = StoreOpKind::kMark;
  mark.cid = "0123456789abcdef";
  mark.mark = CredMark::kDead;
  mark.ttl_ms = 86400000;
  const RedisCall m = redis_call(mark, "zp:");
  CHECK(m.keys == std::vector<std::string>{"zp:{pool}:m"});
  CHECK(m.args == std::vector<std::string>{"", "0123456789abcdef", "2", "86400000"});

  StoreOp health;
  health.kind = StoreOpKind::kHealth;
  CHECK(redis_call(health, "zp:").keys == std::vector<std::string>{"zp:{pool}:m"});

  REQUIRE(redis_script_count() == 7);
  for (size_t i = 0; i < redis_script_count(); ++i) {
    CHECK(redis_script(i).find("redis.call") != std::string_view::npos);
  }
  CHECK(redis_script(7).empty());
}

TEST_CASE("parse_redis_reply: well-formed replies", "[redis][state]") {
  const auto admit =
      parse_redis_reply(StoreOpKind::kAdmit, integers({1, 40000, 0, 40000, 2, 2, 10, 20, 40000}));
  REQUIRE(admit.ok());
  CHECK(admit->admission.refused == Limit::kRpm);
  CHECK(admit->admission.retry_after_ms == 40000);
  CHECK(admit->admission.rpm_remaining == 0);
  CHECK(admit->admission.rpm_reset_ms == 40000);
  CHECK(admit->usage.requests_this_window == 2);
  CHECK(admit->usage.concurrent == 2);
  CHECK(admit->usage.tokens_today == 10);
  CHECK(admit->usage.tokens_this_month == 20);
  CHECK(admit->usage.window_reset_ms == 40000);

  const auto usage = parse_redis_reply(StoreOpKind::kUsage, integers({3, 1, 7, 9, 0}));
  REQUIRE(usage.ok());
  CHECK(usage->usage.tokens_this_month == 9);
  CHECK(parse_redis_reply(StoreOpKind::kRenew, integer(1))->live);
  CHECK_FALSE(parse_redis_reply(StoreOpKind::kClear, integer(0))->cleared);
  CHECK(parse_redis_reply(StoreOpKind::kMark, integer(0)).ok());

  const auto health =
      parse_redis_reply(StoreOpKind::kHealth, array({array({text("aa"), integer(2), integer(5000)}),
                                                     array({text("bb"), integer(1), integer(1)})}));
  REQUIRE(health.ok());
  REQUIRE(health->health.size() == 2);
  CHECK(health->health[0].cid == "aa");
  CHECK(health->health[0].mark == CredMark::kDead);
  CHECK(health->health[0].remaining_ms == 5000);
  CHECK(health->health[1].mark == CredMark::kCool);
  CHECK(parse_redis_reply(StoreOpKind::kHealth, array({}))->health.empty());
}

TEST_CASE("parse_redis_reply: malformed replies are errors", "[redis][state]") {
  struct Case {
    const char* what;
    StoreOpKind kind;
    RespValue reply;
  };
  const std::vector<Case> cases = {
      {"error reply", StoreOpKind::kUsage, text("ERR boom", RespValue::Type::kError)},
      {"nil", StoreOpKind::kAdmit, RespValue{}},
      {"short admit", StoreOpKind::kAdmit, integers({0, 0, -1, 0, 1, 1, 0, 0})},
      {"long admit", StoreOpKind::kAdmit, integers({0, 0, -1, 0, 1, 1, 0, 0, 0, 0})},
      {"unknown limit", StoreOpKind::kAdmit, integers({5, 0, -1, 0, 1, 1, 0, 0, 0})},
      {"negative retry", StoreOpKind::kAdmit, integers({1, -5, 0, 0, 1, 1, 0, 0, 0})},
      {"string in admit", StoreOpKind::kAdmit,
       array({text("0"), integer(0), integer(-1), integer(0), integer(1), integer(1), integer(0),
              integer(0), integer(0)})},
      {"usage as integer", StoreOpKind::kUsage, integer(4)},
      {"short usage", StoreOpKind::kSettle, integers({1, 2, 3, 4})},
      {"negative count", StoreOpKind::kUsage, integers({1, -2, 3, 4, 0})},
      {"negative reset", StoreOpKind::kUsage, integers({1, 2, 3, 4, -1})},
      {"renew 2", StoreOpKind::kRenew, integer(2)},
      {"renew as status", StoreOpKind::kRenew, text("OK", RespValue::Type::kStatus)},
      {"clear as array", StoreOpKind::kClear, integers({1})},
      {"mark as string", StoreOpKind::kMark, text("1")},
      {"health as integer", StoreOpKind::kHealth, integer(0)},
      {"health entry short", StoreOpKind::kHealth, array({array({text("aa"), integer(2)})})},
      {"health entry flat", StoreOpKind::kHealth, array({text("aa"), integer(2), integer(5)})},
      {"health cid integer", StoreOpKind::kHealth,
       array({array({integer(7), integer(2), integer(5)})})},
      {"health mark 0", StoreOpKind::kHealth, array({array({text("a"), integer(0), integer(5)})})},
      {"health lapsed", StoreOpKind::kHealth, array({array({text("a"), integer(1), integer(0)})})},
      {"health unsorted", StoreOpKind::kHealth,
       array({array({text("b"), integer(1), integer(5)}),
              array({text("a"), integer(1), integer(5)})})},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const Result<StoreReply> r = parse_redis_reply(c.kind, c.reply);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::kUpstreamBadResponse);
  }
}

}  // namespace zproxy
