// The gateway with a shared state store (STATE_STORE=redis here; the Worker's Durable Object
// takes the same jobs): admission waits for the store, two replicas share one store's limits
// and credential health, and a store that fails or stalls leaves every decision to local
// memory without failing a request. The "store" is a MemoryStore the test answers jobs from.

#include <catch2/catch.hpp>

#include <string>

#include "engine/gateway.h"
#include "gateway_harness.h"

using namespace zproxy;
using namespace zproxy::testing;

namespace {

constexpr std::string_view kApiAnswer =
    R"({"id":"x","object":"chat.completion","created":1,"model":"glm-4.6","choices":[{"index":0,)"
    R"("message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":15,"completion_tokens":9,"total_tokens":24}})";

const std::string kChat = R"({"model":"glm-4.6","messages":[{"role":"user","content":"Hi"}]})";

EnvMap env(std::string keys, EnvMap extra = {}) {
  EnvMap e = {{"UPSTREAM_MODE", "api"},
              {"ZAI_API_KEYS", "zk-one,zk-two"},
              {"ZAI_API_BASE_URL", "http://upstream.test/api/paas/v4"},
              {"STATE_STORE", "redis"},
              {"REDIS_URL", "redis://:secret-pw@127.0.0.1:6390/2"},
              {"CLIENT_KEYS", std::move(keys)}};
  for (auto& [k, v] : extra) e[k] = v;
  return e;
}

const std::string kRpm1 = R"([{"name":"team","key":"k1","rpm":1}])";

Reply answer(const UpstreamRequest&) {
  return Reply{200, std::string(kApiAnswer)};
}

std::vector<std::pair<std::string, std::string>> bearer(std::string key) {
  return {{"Authorization", "Bearer " + key}};
}

// A harness whose store is `backend`, answering at the harness's wall clock.
void serve_from(Harness& h, MemoryStore& backend) {
  h.store = [&h, &backend](const StoreOp& op) -> std::optional<StoreResult> {
    return StoreResult{true, backend.apply(op, h.wall), {}};
  };
}

size_t count_ops(const Harness& h, StoreOpKind kind) {
  return static_cast<size_t>(std::count_if(h.calls.begin(), h.calls.end(),
                                           [&](const StoreOp& op) { return op.kind == kind; }));
}

bool has(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("shared store: two replicas share one key's rpm", "[state]") {
  MemoryStore backend;
  Harness a(env(kRpm1));
  Harness b(env(kRpm1));
  REQUIRE(a.gw.config_error() == nullptr);
  serve_from(a, backend);
  serve_from(b, backend);
  const Got first = a.run("POST", "/v1/chat/completions", kChat, answer, bearer("k1"));
  CHECK(first.status == 200);
  CHECK(first.header("x-ratelimit-remaining-requests") == "0");
  // The settlement waits up to the host's hold for a call to share a round trip with...
  a.serve_jobs();
  CHECK(count_ops(a, StoreOpKind::kSettle) == 0);
  CHECK(a.gw.store_calls_pending() == 1);
  CHECK(a.gw.poll(a.now).next_deadline == a.now + kNativeLimits.store_settle_hold_ms);
  a.now += kNativeLimits.store_settle_hold_ms;  // ...and goes alone when none came
  a.serve_jobs();
  CHECK(a.gw.store_calls_pending() == 0);
  // Replica B never saw a request of this key: only the store knows the window is used up.
  const Got second = b.run("POST", "/v1/chat/completions", kChat, answer, bearer("k1"));
  CHECK(second.status == 429);
  CHECK(has(second.body, R"("code":"rate_limit_exceeded")"));
  CHECK(second.upstream.empty());
  CHECK(count_ops(a, StoreOpKind::kAdmit) == 1);
  CHECK(count_ops(a, StoreOpKind::kSettle) == 1);
  CHECK(count_ops(b, StoreOpKind::kSettle) == 0);  // refused: nothing to settle
  // The store charged upstream's total_tokens once, whichever replica asks.
  const Got usage = b.run("GET", "/v1/usage", "", answer, bearer("k1"));
  CHECK(usage.status == 200);
  CHECK(has(usage.body, R"("tokens_today":24)"));
  CHECK(has(usage.body, R"("source":"store")"));
  // No password anywhere the operator looks.
  const Got ready = a.run("GET", "/readyz", "", answer, {});
  CHECK(has(ready.body, R"("state_store":"up")"));
  CHECK_FALSE(has(a.logs, "secret-pw"));
}

TEST_CASE("shared store: a settlement shares the next call's round trip", "[state]") {
  MemoryStore backend;
  Harness h(env(R"([{"name":"team","key":"k1","max_concurrent":1}])"));
  serve_from(h, backend);
  CHECK(h.run("POST", "/v1/chat/completions", kChat, answer, bearer("k1")).status == 200);
  h.serve_jobs();
  const auto key_calls = [&] {
    std::vector<StoreOp> ops;
    for (const StoreOp& op : h.calls) {
      if (op.kind != StoreOpKind::kHealth) ops.push_back(op);
    }
    return ops;
  };
  REQUIRE(key_calls().size() == 1);  // the admission; the settlement is held
  // The next request of a one-slot key: the held settlement goes first in the same poll, so
  // the store frees the slot before it admits.
  CHECK(h.run("POST", "/v1/chat/completions", kChat, answer, bearer("k1")).status == 200);
  const std::vector<StoreOp> ops = key_calls();
  REQUIRE(ops.size() >= 3);
  CHECK(ops[1].kind == StoreOpKind::kSettle);
  CHECK(ops[1].tokens == 24);
  CHECK(ops[2].kind == StoreOpKind::kAdmit);
  // Shutting down holds nothing back: the last settlement goes with the next poll.
  h.gw.begin_shutdown();
  h.serve_jobs();
  CHECK(count_ops(h, StoreOpKind::kSettle) == 2);
  CHECK(h.gw.store_calls_pending() == 0);
  StoreOp usage;
  usage.key = "team";
  CHECK(backend.apply(usage, h.wall).usage.tokens_today == 2 * 24);
  // A host without a hold (the Worker) sends it at once.
  MemoryStore other;
  HostLimits no_hold = kNativeLimits;
  no_hold.store_settle_hold_ms = 0;
  Harness w(env(R"([{"name":"team","key":"k1","max_concurrent":1}])"), no_hold);
  serve_from(w, other);
  CHECK(w.run("POST", "/v1/chat/completions", kChat, answer, bearer("k1")).status == 200);
  w.serve_jobs();
  CHECK(count_ops(w, StoreOpKind::kSettle) == 1);
}

TEST_CASE("shared store: GET /admin/keys shows the store's usage of limited keys", "[state]") {
  const std::string keys =
      R"([{"name":"free","key":"k2"},{"name":"metered","key":"k3","tokens_per_day":1000},)"
      R"({"name":"team","key":"k1","rpm":5}])";
  const EnvMap settings = {{"ADMIN_KEY", "admin-key-admin-key-admin-key-0123"},
                           {"STATE_STORE_TIMEOUT_MS", "300"}};
  const auto admin = bearer("admin-key-admin-key-admin-key-0123");
  MemoryStore backend;
  Harness a(env(keys, settings));
  Harness b(env(keys, settings));
  serve_from(a, backend);
  serve_from(b, backend);
  CHECK(a.run("POST", "/v1/chat/completions", kChat, answer, bearer("k3")).status == 200);
  CHECK(a.run("POST", "/v1/chat/completions", kChat, answer, bearer("k2")).status == 200);
  a.now += kNativeLimits.store_settle_hold_ms;
  a.serve_jobs();
  // B served nothing itself: the limited key's usage is the store's, the free key's B's own.
  const Got page = b.run("GET", "/admin/keys?limit=2", "", answer, admin);
  CHECK(page.status == 200);
  CHECK(has(page.body, R"("name":"metered")"));
  CHECK(has(page.body, R"("tokens_today":24,"tokens_this_month":24},"source":"store")"));
  CHECK(has(page.body, R"("name":"free")"));
  CHECK(has(page.body, R"("tokens_today":0,"tokens_this_month":0},"source":"local")"));
  CHECK(has(page.body, R"("first_id":"free","last_id":"metered","has_more":true)"));
  CHECK(count_ops(b, StoreOpKind::kUsage) == 1);  // the free key never reaches the store
  // A store that does not answer: the page comes at the timeout, from local memory.
  b.store = nullptr;
  b.wait_step_ms = 50;
  const int64_t start = b.now;
  const Got stalled = b.run("GET", "/admin/keys", "", answer, admin);
  CHECK(stalled.status == 200);
  CHECK(b.now - start >= 300);
  CHECK_FALSE(has(stalled.body, R"("source":"store")"));
  CHECK(has(stalled.body, R"("last_id":"team","has_more":false)"));
  const Got m = b.run("GET", "/metrics", "", answer, admin);
  CHECK(has(m.body, R"(zproxy_state_fallback_total{op="usage"} 2)"));
}

TEST_CASE("shared store: keys without limits never wait for the store", "[state]") {
  Harness h(env(R"([{"name":"free","key":"k2"}])"));
  const Got got = h.run("POST", "/v1/chat/completions", kChat, answer, bearer("k2"));
  CHECK(got.status == 200);
  h.serve_jobs();
  CHECK(h.run("GET", "/v1/usage", "", answer, bearer("k2")).status == 200);
  h.serve_jobs();
  CHECK(count_ops(h, StoreOpKind::kAdmit) == 0);
  CHECK(count_ops(h, StoreOpKind::kSettle) == 0);
  CHECK(count_ops(h, StoreOpKind::kUsage) == 0);
}

TEST_CASE("shared store: a stalled store is decided locally at the timeout", "[state]") {
  Harness h(env(kRpm1, {{"STATE_STORE_TIMEOUT_MS", "300"}}));
  h.wait_step_ms = 50;
  const int64_t start = h.now;
  const Got first = h.run("POST", "/v1/chat/completions", kChat, answer, bearer("k1"));
  CHECK(first.status == 200);
  CHECK(h.now - start >= 300);
  CHECK(h.now - start < 1000);
  // Local memory counted it: the limit still holds on this replica.
  const Got second = h.run("POST", "/v1/chat/completions", kChat, answer, bearer("k1"));
  CHECK(second.status == 429);
  h.store = nullptr;
  const Got metrics = h.run("GET", "/metrics", "", answer, {{"Authorization", "Bearer none"}});
  // /metrics needs ADMIN_KEY with CLIENT_KEYS: check the counters through a fresh admin run.
  CHECK(metrics.status == 401);
  Harness adm(env(kRpm1, {{"STATE_STORE_TIMEOUT_MS", "300"},
                          {"ADMIN_KEY", "admin-key-admin-key-admin-key-0123"}}));
  adm.wait_step_ms = 50;
  CHECK(adm.run("POST", "/v1/chat/completions", kChat, answer, bearer("k1")).status == 200);
  const Got m = adm.run("GET", "/metrics", "", answer,
                        {{"Authorization", "Bearer admin-key-admin-key-admin-key-0123"}});
  CHECK(has(m.body, R"(zproxy_state_fallback_total{op="admit"} 1)"));
}

TEST_CASE("shared store: an outage is logged once, decided locally, settled afterwards",
          "[state]") {
  MemoryStore backend;
  Harness h(env(R"([{"name":"team","key":"k1","rpm":100}])",
                {{"ADMIN_KEY", "admin-key-admin-key-admin-key-0123"}}));
  bool down = false;
  h.store = [&](const StoreOp& op) -> std::optional<StoreResult> {
    if (down) return StoreResult{false, {}, "connect"};
    return StoreResult{true, backend.apply(op, h.wall), {}};
  };
  CHECK(h.run("POST", "/v1/chat/completions", kChat, answer, bearer("k1")).status == 200);
  down = true;
  for (int i = 0; i < 3; ++i) {
    CHECK(h.run("POST", "/v1/chat/completions", kChat, answer, bearer("k1")).status == 200);
  }
  const Got ready = h.run("GET", "/readyz", "", answer, {});
  CHECK(ready.status == 200);
  CHECK(has(ready.body, R"("state_store":"down")"));
  down = false;
  CHECK(h.run("POST", "/v1/chat/completions", kChat, answer, bearer("k1")).status == 200);
  h.now += kNativeLimits.store_settle_hold_ms;
  h.serve_jobs();
  // Every request's 24 tokens reached the store: 1 before, 3 owed from the outage, 1 after.
  StoreOp usage;
  usage.key = "team";
  CHECK(backend.apply(usage, h.wall).usage.tokens_today == 5 * 24);
  const auto count = [&](std::string_view event) {
    size_t n = 0;
    for (size_t at = h.logs.find(event); at != std::string::npos; at = h.logs.find(event, at + 1)) {
      ++n;
    }
    return n;
  };
  CHECK(count("\"state_store_down\"") == 1);
  CHECK(count("\"state_store_up\"") == 1);
  CHECK(has(h.logs, R"("store":"127.0.0.1:6390")"));
  CHECK_FALSE(has(h.logs, "secret-pw"));
  const Got m = h.run("GET", "/metrics", "", answer,
                      {{"Authorization", "Bearer admin-key-admin-key-admin-key-0123"}});
  CHECK(has(m.body, R"(zproxy_state_store_up{backend="redis"} 1)"));
  CHECK(has(m.body,
            R"(zproxy_state_store_errors_total{backend="redis",op="admit",reason="connect"} 3)"));
}

TEST_CASE("shared store: credential health learned from another replica", "[state]") {
  MemoryStore backend;
  Harness a(env(kRpm1));
  Harness b(env(kRpm1));
  serve_from(a, backend);
  serve_from(b, backend);
  // Replica A: zk-one is out of balance (1113); the answer comes from zk-two.
  const Got got = a.run(
      "POST", "/v1/chat/completions", kChat,
      [](const UpstreamRequest& r) {
        for (const Header& hd : r.headers) {
          if (hd.name == "Authorization" && hd.value == "Bearer zk-one") {
            return Reply{429, R"({"error":{"code":"1113","message":"Insufficient balance"}})"};
          }
        }
        return Reply{200, std::string(kApiAnswer)};
      },
      bearer("k1"));
  CHECK(got.status == 200);
  a.serve_jobs();  // the mark and the settlement
  CHECK(count_ops(a, StoreOpKind::kMark) == 1);
  // Replica B: its first request refreshes the health (not awaited), the next one skips zk-one.
  b.run("GET", "/v1/models", "", answer, bearer("k1"));
  b.serve_jobs();
  CHECK(count_ops(b, StoreOpKind::kHealth) == 1);
  b.wall += 61000;  // past the rpm window
  b.now += 61000;
  const Got next = b.run("POST", "/v1/chat/completions", kChat, answer, bearer("k1"));
  CHECK(next.status == 200);
  REQUIRE(next.upstream.size() == 1);
  CHECK(next.upstream[0].authorization == "Bearer zk-two");
  // The operator clears the mark; the next refresh frees zk-one on B as well.
  Harness adm(env(kRpm1, {{"ADMIN_KEY", "admin-key-admin-key-admin-key-0123"}}));
  serve_from(adm, backend);
  const std::string cid = credential_cid("zk-one");
  const Got cleared = adm.run("DELETE", "/admin/credentials/" + cid, "", answer,
                              {{"Authorization", "Bearer admin-key-admin-key-admin-key-0123"}});
  CHECK(cleared.status == 200);
  CHECK(has(cleared.body, R"("cleared":true)"));
  adm.serve_jobs();
  StoreOp health;
  health.kind = StoreOpKind::kHealth;
  CHECK(backend.apply(health, adm.wall).health.empty());
  const Got unknown = adm.run("DELETE", "/admin/credentials/nothex", "", answer,
                              {{"Authorization", "Bearer admin-key-admin-key-admin-key-0123"}});
  CHECK(unknown.status == 404);
}

TEST_CASE("state settings: bad values name the variable, never a password", "[state][config]") {
  const auto error_of = [](EnvMap e, HostLimits limits = kNativeLimits) {
    Gateway gw(e, limits, 0, 0);
    return gw.config_error() ? gw.config_error()->message : std::string();
  };
  CHECK(has(error_of(env(kRpm1, {{"STATE_STORE", "etcd"}})), "STATE_STORE"));
  CHECK(has(error_of(env(kRpm1, {{"REDIS_URL", "http://x"}})), "REDIS_URL"));
  CHECK(has(error_of(env(kRpm1, {{"REDIS_URL", "redis://u:pw-123@:80"}})), "REDIS_URL"));
  CHECK_FALSE(has(error_of(env(kRpm1, {{"REDIS_URL", "redis://u:pw-123@:80"}})), "pw-123"));
  CHECK(has(error_of(env(kRpm1, {{"REDIS_URL", "redis://h:99999"}})), "port"));
  CHECK(has(error_of(env(kRpm1, {{"STATE_KEY_PREFIX", "bad prefix"}})), "STATE_KEY_PREFIX"));
  CHECK(has(error_of(env(kRpm1), kWorkerLimits), "STATE_STORE=redis"));
  CHECK(has(error_of(env(kRpm1, {{"STATE_STORE", "durable_object"}})), "STATE_STORE"));
  EnvMap no_url = env(kRpm1);
  no_url.erase("REDIS_URL");
  CHECK(has(error_of(no_url), "REDIS_URL must be set"));
  CHECK(error_of(env(kRpm1, {{"REDIS_URL", "rediss://[::1]:6380/0"}})).empty());
}
