#include "keys/client_keys.h"

#include <catch2/catch.hpp>

#include "core/sha256.h"

namespace zproxy {

namespace {

constexpr int64_t kNoon = 1780315200000;  // 2026-06-01T12:00:00Z

std::vector<ClientKey> keys(std::string_view json) {
  std::vector<std::string> warnings;
  auto parsed = parse_client_keys(json, warnings);
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

}  // namespace

TEST_CASE("client keys: parsed, hashed, identified in constant time", "[keys]") {
  std::vector<std::string> warnings;
  const std::string json = R"([{"name":"team-a","key_sha256":")" + sha256_hex("sk-a") +
                           R"(","models":["glm-4.6","glm-4.5*"],"rpm":2,"max_concurrent":1,)"
                           R"("tokens_per_day":100,"expires_at":"2027-01-01T00:00:00Z"},)"
                           R"({"name":"team-b","key":"sk-b","disabled":true}])";
  auto parsed = parse_client_keys(json, warnings);
  REQUIRE(parsed.ok());
  const std::vector<ClientKey>& ks = *parsed;
  REQUIRE(ks.size() == 2);
  CHECK(warnings.size() == 1);  // team-b in plaintext
  CHECK(identify_client_key(ks, "sk-a") == &ks[0]);
  CHECK(identify_client_key(ks, "sk-b") == &ks[1]);
  CHECK(identify_client_key(ks, "sk-c") == nullptr);
  CHECK(identify_client_key(ks, "") == nullptr);
  CHECK(ks[0].allows("glm-4.6"));
  CHECK(ks[0].allows("glm-4.5-air"));
  CHECK_FALSE(ks[0].allows("glm-4.7"));
  CHECK(ks[1].allows("anything"));
  CHECK(ks[0].expires_at_ms == parse_utc_timestamp("2027-01-01T00:00:00Z"));
  CHECK(*parse_utc_timestamp("1970-01-02T00:00:01Z") == 86401000);
  CHECK(ks[1].disabled);

  for (const char* bad : {
           R"({})",
           R"([{"name":"x y","key":"k"}])",
           R"([{"name":"a","key":"k","key_sha256":"00"}])",
           R"([{"name":"a"}])",
           R"([{"name":"a","key_sha256":"abc"}])",
           R"([{"name":"a","key":"k","models":["gl*m"]}])",
           R"([{"name":"a","key":"k","rpm":0}])",
           R"([{"name":"a","key":"k","expires_at":"tomorrow"}])",
           R"([{"name":"a","key":"k"},{"name":"a","key":"j"}])",
       }) {
    INFO(bad);
    auto r = parse_client_keys(bad, warnings);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.starts_with("CLIENT_KEYS"));
    CHECK(r.error().message.find("\"k\"") == std::string::npos);
  }
}

TEST_CASE("key limits: rpm window, concurrency, daily and monthly tokens", "[keys]") {
  const auto ks = keys(
      R"([{"name":"a","key":"k","rpm":2,"max_concurrent":2,"tokens_per_day":100,"tokens_per_month":150}])");
  const ClientKey& k = ks[0];
  KeyLimits limits;
  Admission first = limits.admit(k.name, k.quota(), "l1", kNoon);
  CHECK(first.refused == Limit::kNone);
  CHECK(first.rpm_remaining == 1);
  CHECK(first.rpm_reset_ms == 60000);
  const Admission second = limits.admit(k.name, k.quota(), "l2", kNoon + 1000);
  CHECK(second.refused == Limit::kNone);
  // Both slots are held: the rpm limit speaks first, counting nothing.
  Admission third = limits.admit(k.name, k.quota(), "l3", kNoon + 2000);
  CHECK(third.refused == Limit::kRpm);
  CHECK(third.retry_after_ms == 58000);
  CHECK(limits.usage("a", kNoon + 2000).requests_this_window == 2);
  // A new window: the concurrency limit.
  Admission fourth = limits.admit(k.name, k.quota(), "l4", kNoon + 60000);
  CHECK(fourth.refused == Limit::kConcurrency);
  CHECK(fourth.retry_after_ms == 1000);
  limits.settle("l1", "a", 0, kNoon + 60000);
  const Admission fifth = limits.admit(k.name, k.quota(), "l5", kNoon + 60001);
  CHECK(fifth.refused == Limit::kNone);
  limits.settle("l2", "a", 0, kNoon + 60001);
  limits.settle("l5", "a", 0, kNoon + 60001);
  CHECK(limits.usage("a", kNoon + 60001).concurrent == 0);
  // Tokens: the day's quota, then the month's.
  limits.settle("", "a", 100, kNoon + 61000);
  Admission over = limits.admit(k.name, k.quota(), "l6", kNoon + 200000);
  CHECK(over.refused == Limit::kTokensPerDay);
  CHECK(over.retry_after_ms == next_utc_day_ms(kNoon + 200000) - (kNoon + 200000));
  const int64_t tomorrow = kNoon + 86400000;
  const Admission next_day = limits.admit(k.name, k.quota(), "l7", tomorrow);
  CHECK(next_day.refused == Limit::kNone);
  limits.settle("l7", "a", 60, tomorrow);
  Admission month = limits.admit(k.name, k.quota(), "l8", tomorrow + 70000);
  CHECK(month.refused == Limit::kTokensPerMonth);
  CHECK(next_utc_month_ms(kNoon) == *parse_utc_timestamp("2026-07-01T00:00:00Z"));
  CHECK(next_utc_month_ms(*parse_utc_timestamp("2026-12-31T23:00:00Z")) ==
        *parse_utc_timestamp("2027-01-01T00:00:00Z"));
  const KeyUsage u = limits.usage("a", tomorrow + 70000);
  CHECK(u.tokens_today == 60);
  CHECK(u.tokens_this_month == 160);
}

}  // namespace zproxy

namespace zproxy {

TEST_CASE("key limits: a lease lapses unless renewed", "[keys]") {
  const auto ks = keys(R"([{"name":"a","key":"k","max_concurrent":1}])");
  KeyLimits limits;
  const Admission held = limits.admit(ks[0].name, ks[0].quota(), "l9", kNoon, 30000);
  REQUIRE(held.refused == Limit::kNone);
  CHECK(limits.admit(ks[0].name, ks[0].quota(), "l10", kNoon + 20000, 30000).refused ==
        Limit::kConcurrency);
  CHECK(limits.renew("a", "l9", kNoon + 20000, 30000));  // now good until +50 s
  CHECK(limits.admit(ks[0].name, ks[0].quota(), "l11", kNoon + 45000, 30000).refused ==
        Limit::kConcurrency);
  // Not renewed again: it lapses, and the slot is free (a crashed holder cannot keep it).
  const Admission after = limits.admit(ks[0].name, ks[0].quota(), "l12", kNoon + 50001, 30000);
  CHECK(after.refused == Limit::kNone);
  CHECK_FALSE(limits.renew("a", "l9", kNoon + 50002, 30000));
}

TEST_CASE("key limits: leases lapse one by one, whatever order they were taken in", "[keys]") {
  const auto ks = keys(R"([{"name":"a","key":"k","max_concurrent":3}])");
  KeyLimits limits;
  REQUIRE(limits.admit("a", ks[0].quota(), "long", kNoon, 90000).refused == Limit::kNone);
  REQUIRE(limits.admit("a", ks[0].quota(), "short", kNoon + 1000, 10000).refused == Limit::kNone);
  REQUIRE(limits.admit("a", ks[0].quota(), "forever", kNoon + 2000).refused == Limit::kNone);
  CHECK(limits.usage("a", kNoon + 10999).concurrent == 3);
  CHECK(limits.usage("a", kNoon + 11000).concurrent == 2);  // "short" lapsed
  CHECK(limits.renew("a", "long", kNoon + 80000, 90000));   // good until +170 s
  CHECK(limits.usage("a", kNoon + 169999).concurrent == 2);
  CHECK(limits.usage("a", kNoon + 170000).concurrent == 1);  // only "forever" is left
  CHECK(limits.admit("a", ks[0].quota(), "x", kNoon + 170000, 1000).refused == Limit::kNone);
  CHECK(limits.admit("a", ks[0].quota(), "y", kNoon + 170000, 1000).refused == Limit::kNone);
  CHECK(limits.admit("a", ks[0].quota(), "z", kNoon + 170000, 1000).refused == Limit::kConcurrency);
  CHECK(limits.usage("a", kNoon + 171000).concurrent == 1);
  CHECK(limits.admit("a", ks[0].quota(), "z", kNoon + 171000, 1000).refused == Limit::kNone);
}

}  // namespace zproxy
