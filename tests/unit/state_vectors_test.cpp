// tests/fixtures/state/vectors.json against the memory backend (KeyLimits): the semantics every
// state-store backend must give.

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "json/json.h"
#include "keys/client_keys.h"

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

}  // namespace

TEST_CASE("state store vectors: the memory backend", "[keys][state]") {
  std::ifstream in(std::string(ZPROXY_FIXTURE_DIR) + "/state/vectors.json");
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  auto doc = parse_json(text.str());
  REQUIRE(doc.ok());
  const JsonValue cases = doc->member("cases");
  REQUIRE(cases.size() >= 3);
  for (const JsonValue c : cases.elements()) {
    INFO(c.member("name").string());
    KeyLimits store;
    std::map<std::string, uint64_t, std::less<>> leases;
    for (const JsonValue step : c.member("steps").elements()) {
      const int64_t at = *step.member("at").int64();
      const std::string_view op = step.member("op").string();
      const JsonValue expect = step.member("expect");
      const std::string key(step.member("key").string());
      INFO(op << " at " << at);
      const int64_t ttl = step.member("ttl_ms").int64().value_or(KeyLimits::kNoExpiry);
      if (op == "admit") {
        ClientKey k;
        k.name = key;
        const JsonValue l = step.member("limits");
        if (auto v = l.member("rpm").int64()) k.rpm = *v;
        if (auto v = l.member("max_concurrent").int64()) k.max_concurrent = *v;
        if (auto v = l.member("tokens_per_day").int64()) k.tokens_per_day = *v;
        if (auto v = l.member("tokens_per_month").int64()) k.tokens_per_month = *v;
        const Admission a = store.admit(k, at, ttl);
        if (expect.member("admitted").boolean().value_or(false)) {
          CHECK(a.refused == Limit::kNone);
        }
        if (const JsonValue r = expect.member("refused"))
          CHECK(limit_name(a.refused) == r.string());
        if (auto v = expect.member("retry_after_ms").int64()) CHECK(a.retry_after_ms == *v);
        if (auto v = expect.member("rpm_remaining").int64()) CHECK(a.rpm_remaining == *v);
        if (const JsonValue name = step.member("lease"))
          leases[std::string(name.string())] = a.lease;
      } else if (op == "renew") {
        const bool live =
            store.renew(leases.at(std::string(step.member("lease").string())), at, ttl);
        CHECK(live == expect.member("live").boolean().value_or(!live));
      } else if (op == "settle") {
        store.settle(leases.at(std::string(step.member("lease").string())), key,
                     step.member("tokens").int64().value_or(0), at);
      } else if (op == "usage") {
        const KeyUsage u = store.usage(key, at);
        if (auto v = expect.member("requests_this_window").int64()) {
          CHECK(u.requests_this_window == *v);
        }
        if (auto v = expect.member("concurrent").int64()) CHECK(u.concurrent == *v);
        if (auto v = expect.member("tokens_today").int64()) CHECK(u.tokens_today == *v);
        if (auto v = expect.member("tokens_this_month").int64()) CHECK(u.tokens_this_month == *v);
      } else {
        FAIL("unknown op " << op);
      }
    }
  }
}

}  // namespace zproxy
