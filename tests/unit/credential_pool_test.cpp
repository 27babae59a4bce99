// Scripted timelines: each script is a table of steps (time in ms, operation, expectation) run
// against one pool. Leases are named by the acquire step that took them, so later steps can
// release, avoid or probe them, including after their slot was reused (stale leases).

#include "pool/credential_pool.h"

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace zproxy {
namespace {

enum class Op { kAcquire, kOk, kFail, kStart, kFetched, kDeadline, kCounts, kVersion, kSecret };

struct Step {
  int64_t at = 0;
  Op op = Op::kAcquire;
  std::string lease{};               // kAcquire: name to keep it under; others: lease to use
  std::vector<std::string> avoid{};  // kAcquire
  AcquireStatus status = AcquireStatus::kLeased;
  std::string text{};  // kAcquire/kSecret: expected secret; kFetched: secret ("" = failure)
  int64_t value = 0;   // expected until/deadline/fetch count/version; kFail: cooldown_until
  Verdict verdict = Verdict::kTransient;
  PoolCounts counts{};
};

Step lease(int64_t at, std::string name, std::string secret, std::vector<std::string> avoid = {}) {
  return {.at = at, .lease = name, .avoid = avoid, .text = secret};
}
Step wait(int64_t at, AcquireStatus status, int64_t until = kNever,
          std::vector<std::string> avoid = {}) {
  return {.at = at, .avoid = avoid, .status = status, .value = until};
}
Step ok(int64_t at, std::string name) {
  return {.at = at, .op = Op::kOk, .lease = name};
}
Step fail(int64_t at, std::string name, Verdict verdict, int64_t cooldown_until = 0) {
  return {.at = at, .op = Op::kFail, .lease = name, .value = cooldown_until, .verdict = verdict};
}
Step fetches(int64_t at, int64_t started) {
  return {.at = at, .op = Op::kStart, .value = started};
}
Step fetched(int64_t at, std::string secret) {
  return {.at = at, .op = Op::kFetched, .text = secret};
}
Step fetch_failed(int64_t at) {
  return fetched(at, "");
}
Step deadline(int64_t at, int64_t expected) {
  return {.at = at, .op = Op::kDeadline, .value = expected};
}
Step counts(int64_t at, size_t healthy, size_t cooling, size_t dead, size_t fetching) {
  return {.at = at, .op = Op::kCounts, .counts = {healthy, cooling, dead, fetching}};
}
Step version(int64_t expected) {
  return {.op = Op::kVersion, .value = expected};
}
Step secret_of(std::string name, std::string expected) {
  return {.op = Op::kSecret, .lease = name, .text = expected};
}

const char* status_name(AcquireStatus status) {
  switch (status) {
    case AcquireStatus::kLeased: return "leased";
    case AcquireStatus::kWaitFetch: return "wait-fetch";
    case AcquireStatus::kWaitCapacity: return "wait-capacity";
    case AcquireStatus::kWaitCooldown: return "wait-cooldown";
    case AcquireStatus::kNone: return "none";
  }
  return "?";
}

struct Script {
  std::string name;
  PoolSettings settings;
  std::optional<std::vector<std::string>> keys;  // static pool; nullopt: fetched pool
  std::vector<Step> steps;
};

PoolSettings keyed(uint32_t max_inflight = 0) {
  PoolSettings s;
  s.max_inflight = max_inflight;
  return s;
}

PoolSettings tokens(size_t target, int64_t max_age_ms = 0, size_t parallel = 8,
                    uint32_t max_inflight = 0) {
  PoolSettings s;
  s.target_size = target;
  s.max_age_ms = max_age_ms;
  s.max_parallel_fetches = parallel;
  s.max_inflight = max_inflight;
  return s;
}

using Leases = std::map<std::string, Lease>;

Lease named(const Leases& leases, const std::string& name) {
  auto it = leases.find(name);
  REQUIRE(it != leases.end());
  return it->second;
}

void run_acquire(CredentialPool& pool, const Step& step, Leases& leases) {
  std::vector<Lease> avoid;
  for (const std::string& name : step.avoid) avoid.push_back(named(leases, name));
  const Acquire got = pool.acquire(step.at, avoid);
  CHECK(std::string(status_name(got.status)) == status_name(step.status));
  if (got.status != step.status) return;
  if (step.status == AcquireStatus::kLeased) {
    CHECK(std::string(pool.secret(got.lease)) == step.text);
    leases[step.lease] = got.lease;
  } else {
    CHECK(got.until == step.value);
  }
}

void run_step(CredentialPool& pool, const Step& step, Leases& leases) {
  switch (step.op) {
    case Op::kAcquire: run_acquire(pool, step, leases); break;
    case Op::kOk: pool.release_ok(named(leases, step.lease), step.at); break;
    case Op::kFail:
      pool.release_failed(named(leases, step.lease), step.verdict, step.at, step.value);
      break;
    case Op::kStart:
      // wants_fetch() predicts, without side effects, whether start_fetches() starts any.
      CHECK(pool.wants_fetch(step.at) == (step.value > 0));
      CHECK(int64_t(pool.start_fetches(step.at)) == step.value);
      break;
    case Op::kFetched: pool.on_fetched(step.at, step.text); break;
    case Op::kDeadline: CHECK(pool.next_deadline(step.at) == step.value); break;
    case Op::kCounts: {
      const PoolCounts got = pool.counts(step.at);
      CHECK(got.healthy == step.counts.healthy);
      CHECK(got.cooling == step.counts.cooling);
      CHECK(got.dead == step.counts.dead);
      CHECK(got.fetching == step.counts.fetching);
      break;
    }
    case Op::kVersion: CHECK(int64_t(pool.version()) == step.value); break;
    case Op::kSecret:
      CHECK(std::string(pool.secret(named(leases, step.lease))) == step.text);
      break;
  }
}

void run(const std::vector<Script>& scripts) {
  for (const Script& script : scripts) {
    DYNAMIC_SECTION(script.name) {
      CredentialPool pool = script.keys ? CredentialPool(script.settings, *script.keys)
                                        : CredentialPool(script.settings);
      Leases leases;
      for (size_t i = 0; i < script.steps.size(); ++i) {
        INFO("step " << i + 1 << " at t=" << script.steps[i].at);
        run_step(pool, script.steps[i], leases);
      }
    }
  }
}

using S = AcquireStatus;
using V = Verdict;
const std::vector<std::string> kNoKeys;
const std::vector<std::string> kOne = {"k1"};
const std::vector<std::string> kTwo = {"k1", "k2"};
const std::vector<std::string> kThree = {"k1", "k2", "k3"};

TEST_CASE("static keys: least recently leased first, ties to the lowest slot") {
  run({
      {"never-used first in slot order, then by lease time",
       keyed(),
       kThree,
       {lease(10, "a", "k1"), lease(20, "b", "k2"), lease(30, "c", "k3"), ok(31, "a"), ok(32, "b"),
        ok(33, "c"), lease(40, "d", "k1"), lease(50, "e", "k2"), lease(60, "f", "k3"),
        lease(70, "g", "k1")}},
      {"a returned key waits behind a never-used one; release time does not count",
       keyed(),
       kThree,
       {lease(10, "a", "k1"), lease(20, "b", "k2"), ok(21, "b"), ok(100, "a"),
        lease(110, "c", "k3"), lease(120, "d", "k1"), lease(130, "e", "k2"),
        lease(140, "f", "k3")}},
      {"keys still in flight stay eligible without a cap",
       keyed(),
       kThree,
       {lease(10, "a", "k1"), lease(20, "b", "k2"), lease(30, "c", "k3"), ok(35, "b"),
        lease(40, "d", "k1"), lease(50, "e", "k2")}},
      {"equal lease times tie-break to the lowest slot",
       keyed(),
       kThree,
       {lease(5, "a", "k1"), lease(5, "b", "k2"), lease(5, "c", "k3"), lease(5, "d", "k1"),
        lease(6, "e", "k1"), lease(7, "f", "k2"), lease(8, "g", "k3")}},
  });
}

TEST_CASE("static keys: avoid list") {
  run({
      {"an avoided key loses to any other",
       keyed(),
       kThree,
       {lease(10, "a", "k1"), lease(20, "b", "k2"), lease(30, "c", "k3"),
        lease(40, "d", "k2", {"a"}), lease(50, "e", "k3", {"a", "d"}),
        lease(60, "f", "k1", {"a", "d", "e"})}},
      {"all avoided: least recently leased among them",
       keyed(),
       kThree,
       {lease(10, "a", "k1"), lease(20, "b", "k2"), lease(30, "c", "k3"),
        lease(40, "d", "k1", {"a", "b", "c"}), lease(50, "e", "k2", {"a", "b", "c"})}},
      {"the only free key is avoided: it is used",
       keyed(1),
       kTwo,
       {lease(10, "a", "k1"), ok(11, "a"), lease(20, "b", "k2"), lease(30, "c", "k1", {"a"}),
        wait(40, S::kWaitCapacity, kNever, {"a"})}},
  });
}

TEST_CASE("static keys: in-flight cap") {
  run({
      {"cap 1: wait for capacity, a release frees the key",
       keyed(1),
       kTwo,
       {lease(10, "a", "k1"), lease(20, "b", "k2"), wait(30, S::kWaitCapacity), version(0),
        ok(40, "b"), version(1), lease(50, "c", "k2"), wait(60, S::kWaitCapacity),
        fail(70, "a", V::kTransient), version(2), lease(80, "d", "k1"), counts(80, 2, 0, 0, 0),
        deadline(80, kNever)}},
      {"cap 2 on one key",
       keyed(2),
       kOne,
       {lease(10, "a", "k1"), lease(10, "b", "k1"), wait(10, S::kWaitCapacity), ok(11, "a"),
        lease(12, "c", "k1"), wait(13, S::kWaitCapacity)}},
      {"capped beats cooling",
       keyed(1),
       kTwo,
       {lease(10, "a", "k1"), lease(11, "b", "k2"), fail(12, "b", V::kCooldown, 1000),
        wait(20, S::kWaitCapacity), ok(30, "a"), lease(40, "c", "k1")}},
  });
}

TEST_CASE("static keys: cooldowns") {
  run({
      {"usable again exactly at the end",
       keyed(),
       kOne,
       {lease(1000, "a", "k1"), fail(1000, "a", V::kCooldown, 5000), counts(1000, 0, 1, 0, 0),
        deadline(1000, 5000), wait(4999, S::kWaitCooldown, 5000), deadline(4999, 5000),
        lease(5000, "b", "k1"), counts(5000, 1, 0, 0, 0), deadline(5000, kNever)}},
      {"0 means now + busy_cooldown_ms",
       keyed(),
       kOne,
       {lease(0, "a", "k1"), fail(100, "a", V::kCooldown, 0), wait(5099, S::kWaitCooldown, 5100),
        lease(5100, "b", "k1")}},
      {"a shorter cooldown never shortens a longer one",
       keyed(),
       kOne,
       {lease(0, "a", "k1"), lease(0, "b", "k1"), fail(10, "a", V::kCooldown, 9000),
        fail(20, "b", V::kCooldown, 6000), wait(6000, S::kWaitCooldown, 9000),
        lease(9000, "c", "k1"), lease(9000, "d", "k1"), lease(9000, "e", "k1"),
        fail(9001, "c", V::kCooldown, 12000), fail(9003, "d", V::kCooldown, 0),
        wait(13000, S::kWaitCooldown, 14003), fail(13500, "e", V::kCooldown, 10000),
        wait(14002, S::kWaitCooldown, 14003), lease(14003, "f", "k1")}},
      {"earliest end among several; the others still serve",
       keyed(),
       kThree,
       {lease(0, "a", "k1"), lease(0, "b", "k2"), lease(0, "c", "k3"),
        fail(10, "a", V::kCooldown, 3000), fail(10, "b", V::kCooldown, 2000), lease(20, "d", "k3"),
        fail(30, "d", V::kCooldown, 4000), counts(30, 0, 3, 0, 0),
        wait(100, S::kWaitCooldown, 2000), deadline(100, 2000), lease(2000, "e", "k2"),
        deadline(2000, 3000), ok(2001, "c"), lease(3000, "f", "k1")}},
      {"other verdicts only release",
       keyed(1),
       kOne,
       {lease(0, "a", "k1"), fail(1, "a", V::kClientFault), lease(2, "b", "k1"),
        fail(3, "b", V::kUpstreamWide), lease(4, "c", "k1"), fail(5, "c", V::kTransient),
        counts(5, 1, 0, 0, 0), version(3)}},
  });
}

TEST_CASE("static keys: dead keys and empty pools") {
  run({
      {"a dead key is never returned again",
       keyed(),
       kTwo,
       {lease(10, "a", "k1"), fail(20, "a", V::kDead), counts(20, 1, 0, 1, 0), lease(30, "b", "k2"),
        ok(31, "b"), lease(40, "c", "k2"), fail(50, "c", V::kDead), wait(60, S::kNone),
        counts(60, 0, 0, 2, 0), deadline(60, kNever), wait(1000000000, S::kNone)}},
      {"dead stays dead when its other leases end well",
       keyed(),
       kTwo,
       {lease(0, "a", "k1"), lease(0, "b", "k2"), lease(0, "c", "k1"), fail(1, "a", V::kDead),
        ok(2, "c"), counts(2, 1, 0, 1, 0), lease(3, "d", "k2"), lease(4, "e", "k2")}},
      {"dead and cooling: wait for the cooldown",
       keyed(),
       kTwo,
       {lease(0, "a", "k1"), lease(0, "b", "k2"), fail(1, "a", V::kDead),
        fail(1, "b", V::kCooldown, 700), wait(2, S::kWaitCooldown, 700), deadline(2, 700)}},
      {"no keys",
       keyed(),
       kNoKeys,
       {wait(0, S::kNone), counts(0, 0, 0, 0, 0), deadline(0, kNever), fetches(0, 0)}},
      {"static pools ignore fetch calls",
       tokens(3),
       kOne,
       {fetches(0, 0), fetched(0, "x"), version(0), counts(0, 1, 0, 0, 0), lease(1, "a", "k1"),
        lease(2, "b", "k1")}},
      {"fetched pool with target 0",
       tokens(0),
       std::nullopt,
       {fetches(0, 0), wait(0, S::kNone), counts(0, 0, 0, 0, 0), deadline(0, kNever)}},
  });
}

TEST_CASE("fetched tokens: filling the pool") {
  run({
      {"first start is the target capped by max_parallel_fetches",
       tokens(3, 0, 2),
       std::nullopt,
       {wait(0, S::kWaitFetch), counts(0, 0, 0, 0, 0), fetches(0, 2), fetches(1, 0),
        counts(1, 0, 0, 0, 2), wait(1, S::kWaitFetch), fetched(100, "t1"), version(1),
        counts(100, 1, 0, 0, 1), fetches(100, 1), lease(110, "a", "t1"), fetched(120, "t2"),
        fetched(130, "t3"), fetches(140, 0), lease(150, "b", "t2"), lease(160, "c", "t3"),
        lease(170, "d", "t1"), deadline(170, kNever), counts(170, 3, 0, 0, 0)}},
      {"first start is the whole target when parallel allows",
       tokens(2, 0, 8),
       std::nullopt,
       {fetches(0, 2), fetches(0, 0)}},
      {"max_parallel_fetches 0 means no cap", tokens(12, 0, 0), std::nullopt, {fetches(0, 12)}},
  });
}

TEST_CASE("fetched tokens: backoff after failed fetches") {
  run({
      {"1 s, 2 s, 4 s ... capped at 30 s; reset after a success",
       tokens(1),
       std::nullopt,
       {fetches(0, 1),
        fetch_failed(1000),
        counts(1000, 0, 0, 0, 0),
        wait(1000, S::kWaitFetch, 2000),
        deadline(1000, 2000),
        fetches(1999, 0),
        fetches(2000, 1),
        wait(2000, S::kWaitFetch, kNever),
        deadline(2000, kNever),
        fetch_failed(2500),
        wait(2500, S::kWaitFetch, 4500),
        deadline(2500, 4500),
        fetches(4499, 0),
        fetches(4500, 1),
        fetch_failed(4500),
        deadline(4500, 8500),
        fetches(8500, 1),
        fetch_failed(8500),
        deadline(8500, 16500),
        fetches(16500, 1),
        fetch_failed(16500),
        deadline(16500, 32500),
        fetches(32500, 1),
        fetch_failed(32500),
        deadline(32500, 62500),
        fetches(62500, 1),
        fetch_failed(62500),
        deadline(62500, 92500),
        fetches(92499, 0),
        fetches(92500, 1),
        fetched(93000, "t1"),
        deadline(93000, kNever),
        version(8),
        lease(94000, "a", "t1"),
        fail(94000, "a", V::kDead),
        fetches(94000, 1),
        fetch_failed(95000),
        deadline(95000, 96000),
        wait(95000, S::kWaitFetch, 96000),
        fetches(96000, 1),
        fetched(96100, "t2"),
        lease(96200, "b", "t2")}},
      {"backoff with nothing missing schedules no wake-up",
       tokens(1),
       std::nullopt,
       {fetches(0, 1), fetched(0, "t1"), fetch_failed(10), deadline(10, kNever), fetches(10, 0),
        lease(20, "a", "t1"), fail(30, "a", V::kDead), deadline(30, 1010), fetches(1009, 0),
        fetches(1010, 1)}},
      {"a failure while another fetch runs: both count",
       tokens(2),
       std::nullopt,
       {fetches(0, 2), fetch_failed(10), counts(10, 0, 0, 0, 1), wait(10, S::kWaitFetch, 1010),
        deadline(10, 1010), fetches(500, 0), fetched(600, "t1"), fetches(600, 1),
        fetched(700, "t2"), deadline(700, kNever)}},
  });
}

// max_age 100 s: the replacement window is the last 10 s (from 90 s on).
constexpr int64_t kAge = 100000;

TEST_CASE("fetched tokens: age-based replacement and retirement") {
  run({
      {"replacement starts at 90 %, arrives, the old token retires",
       tokens(1, kAge),
       std::nullopt,
       {fetches(0, 1),           fetched(0, "t1"),          deadline(0, 90000),
        counts(0, 1, 0, 0, 0),   fetches(89999, 0),         lease(89999, "a", "t1"),
        deadline(89999, 90000),  fetches(90000, 1),         fetches(90000, 0),
        deadline(90000, 100000), counts(90000, 1, 0, 0, 1), lease(95000, "b", "t1"),
        fetched(96000, "t2"),    counts(96000, 1, 0, 0, 0), lease(96000, "c", "t2"),
        lease(96001, "d", "t2"), deadline(96001, 186000),   ok(97000, "a"),
        ok(97000, "b"),          secret_of("b", ""),        secret_of("c", "t2"),
        fetches(185999, 0),      fetches(186000, 1),        fetched(186500, "t3"),
        ok(186600, "a"),         lease(186700, "e", "t3")}},
      {"no replacement in time: retired at max age, freed after its last release",
       tokens(1, kAge),
       std::nullopt,
       {fetches(0, 1), fetched(0, "t1"), lease(1000, "a", "t1"), fetches(90000, 1),
        lease(99999, "b", "t1"), wait(100000, S::kWaitFetch), counts(100000, 0, 0, 0, 1),
        deadline(100000, kNever), secret_of("a", "t1"), ok(100001, "a"), ok(100002, "b"),
        secret_of("b", ""), fetched(100500, "t2"), lease(100500, "c", "t2"),
        deadline(100500, 190500)}},
      {"failed replacement: backoff, then the token retires",
       tokens(1, kAge),
       std::nullopt,
       {fetches(0, 1), fetched(0, "t1"), fetches(90000, 1), fetch_failed(95000),
        deadline(95000, 96000), lease(95500, "a", "t1"), fetches(96000, 1), fetch_failed(96500),
        deadline(96500, 98500), fetches(98500, 1), wait(100000, S::kWaitFetch),
        fetch_failed(100100), wait(100100, S::kWaitFetch, 104100), counts(100100, 0, 0, 0, 0)}},
      {"the window is capped at 60 s for long ages",
       tokens(1, 1800000),
       std::nullopt,
       {fetches(0, 1), fetched(0, "t1"), deadline(0, 1740000), fetches(1739999, 0),
        fetches(1740000, 1), deadline(1740000, 1800000)}},
      {"two tokens age apart; only the oldest one nearing age retires",
       tokens(2, kAge),
       std::nullopt,
       {fetches(0, 2), fetched(0, "t1"), fetched(5000, "t2"), deadline(5000, 90000),
        fetches(90000, 1), deadline(90000, 95000), fetched(91000, "t3"), counts(91000, 2, 0, 0, 0),
        deadline(91000, 95000), lease(91000, "a", "t2"), lease(91001, "b", "t3"),
        lease(91002, "c", "t2"), fetches(95000, 1)}},
      {"the in-flight cap counts per token",
       tokens(1, 0, 8, 1),
       std::nullopt,
       {fetches(0, 1), fetched(0, "t1"), lease(1, "a", "t1"), wait(2, S::kWaitCapacity), ok(3, "a"),
        lease(4, "b", "t1")}},
  });
}

TEST_CASE("fetched tokens: dead tokens, stale leases, version") {
  run({
      {"dead with leases in flight: counted dead until released, replaced at once",
       tokens(1),
       std::nullopt,
       {fetches(0, 1), fetched(0, "t1"), lease(10, "a", "t1"), lease(20, "b", "t1"),
        fail(30, "a", V::kDead), counts(30, 0, 0, 1, 0), fetches(30, 1), wait(30, S::kWaitFetch),
        ok(40, "b"), counts(40, 0, 0, 0, 1), fetched(50, "t2"), lease(60, "c", "t2"), version(4),
        fail(70, "b", V::kDead), version(4), counts(70, 1, 0, 0, 0), lease(80, "d", "t2")}},
      {"a stale lease after replacement changes nothing",
       tokens(1, 0, 8, 1),
       std::nullopt,
       {fetches(0, 1), fetched(0, "t1"), lease(10, "a", "t1"), fail(20, "a", V::kDead),
        counts(20, 0, 0, 0, 0), fetches(20, 1), fetched(30, "t2"), lease(40, "b", "t2"), version(3),
        secret_of("a", ""), ok(50, "a"), fail(50, "a", V::kCooldown, 99999),
        fail(50, "a", V::kDead), version(3), wait(60, S::kWaitCapacity), counts(60, 1, 0, 0, 0),
        ok(61, "b"), version(4), lease(62, "x", "t2", {"a"})}},
      {"version: bumped by releases and fetch results only",
       tokens(2, 0, 8, 1),
       std::nullopt,
       {version(0),
        fetches(0, 2),
        version(0),
        fetched(10, "t1"),
        version(1),
        fetch_failed(20),
        version(2),
        lease(30, "a", "t1"),
        wait(31, S::kWaitCapacity),
        version(2),
        ok(40, "a"),
        version(3),
        ok(41, "a"),
        version(3),
        lease(50, "b", "t1"),
        fail(60, "b", V::kCooldown, 0),
        version(4),
        counts(60, 0, 1, 0, 0),
        deadline(60, 1020),
        fetches(1020, 1),
        version(4),
        fetched(1100, "t2"),
        version(5),
        deadline(1100, 5060)}},
  });
}

TEST_CASE("fingerprint shows at most 4 characters and at most half the secret") {
  struct Row {
    std::string secret;
    std::string fingerprint;
  };
  const std::vector<Row> rows = {
      {"sk-abcdef1234a1b2",
       "\xE2\x80\xA6"
       "a1b2"},
      {"abcdefgh",
       "\xE2\x80\xA6"
       "efgh"},
      {"abcdef",
       "\xE2\x80\xA6"
       "def"},
      {"abc",
       "\xE2\x80\xA6"
       "c"},
      {"ab",
       "\xE2\x80\xA6"
       "b"},
      {"a", "\xE2\x80\xA6"},
  };
  std::vector<std::string> secrets;
  for (const Row& row : rows) secrets.push_back(row.secret);
  CredentialPool pool(keyed(), secrets);
  for (size_t i = 0; i < rows.size(); ++i) {
    const Acquire got = pool.acquire(int64_t(i));
    REQUIRE(got.status == AcquireStatus::kLeased);
    CHECK(pool.secret(got.lease) == rows[i].secret);
    CHECK(pool.fingerprint(got.lease) == rows[i].fingerprint);
  }
}

TEST_CASE("leases that never were are stale") {
  CredentialPool keys(keyed(), {"k1"});
  CHECK(keys.secret(Lease{}).empty());
  CHECK(keys.fingerprint(Lease{}).empty());
  CHECK(keys.secret(Lease{7, 1}).empty());
  keys.release_ok(Lease{}, 0);
  keys.release_failed(Lease{7, 1}, Verdict::kDead, 0);
  CHECK(keys.version() == 0);
  CHECK(keys.counts(0).healthy == 1);

  CredentialPool fetched(tokens(1));
  fetched.release_ok(Lease{0, 1}, 0);
  CHECK(fetched.version() == 0);
  CHECK(fetched.secret(Lease{0, 0}).empty());
}

}  // namespace
}  // namespace zproxy
