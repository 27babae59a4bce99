// The gateway driven like a host would drive it, against a scripted upstream: routing, auth,
// the check order, token fetches, retries before the commit point, streaming, and metrics.

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "engine/gateway.h"

using namespace zproxy;

namespace {

constexpr std::string_view kAnswerOnly =
    "data: {\"type\": \"chat:completion\", \"data\": {\"delta_content\": \"Paris\", \"phase\": "
    "\"answer\"}}\n\n"
    "data: {\"type\": \"chat:completion\", \"data\": {\"delta_content\": \" is the capital\", "
    "\"phase\": \"answer\"}}\n\n"
    "data: {\"type\": \"chat:completion\", \"data\": {\"usage\": {\"prompt_tokens\": 15, "
    "\"completion_tokens\": 6, \"total_tokens\": 21}, \"phase\": \"other\"}}\n\n"
    "data: {\"type\": \"chat:completion\", \"data\": {\"done\": true, \"delta_content\": \"\", "
    "\"phase\": \"done\"}}\n\n";

struct Reply {
  int status = 200;
  std::string body;
  bool reset_after_body = false;
};

struct Seen {
  std::string url;
  std::string authorization;
  std::string body;
};

struct Answer {
  int status = 0;
  std::vector<Header> headers;
  std::string body;
  std::vector<Seen> upstream;

  std::string header(std::string_view name) const {
    for (const auto& h : headers) {
      if (h.name == name) return h.value;
    }
    return {};
  }
};

std::string find_auth(const UpstreamRequest& r) {
  for (const auto& h : r.headers) {
    if (h.name == "Authorization") return h.value;
  }
  return {};
}

class Harness {
 public:
  explicit Harness(EnvMap env, HostKind host = HostKind::kNative) : gw(env, host, now, wall) {}

  bool take_requests = false;  // fetch with take_upstream_request() (as the native host does)

  // Serves pending token fetches with tokens tok-1, tok-2, …
  void serve_jobs() {
    for (;;) {
      auto jobs = gw.take_jobs(now);
      if (jobs.empty()) return;
      for (const Job& j : jobs) {
        gw.on_job_done(j.id, 200, R"({"token":"tok-)" + std::to_string(++tokens) + R"("})", now,
                       wall);
      }
    }
  }

  Answer run(std::string method, std::string target, std::string body,
             std::function<Reply(const UpstreamRequest&)> upstream,
             std::vector<std::pair<std::string, std::string>> headers = {
                 {"Authorization", "Bearer sk-test"}}) {
    RequestHead head;
    head.method = method;
    head.target = target;
    for (const auto& [k, v] : headers) head.headers.emplace_back(k, v);
    head.content_length = static_cast<int64_t>(body.size());
    const uint8_t entropy[32] = {1, 2, 3};
    Exchange& ex = gw.start(head, now, wall, entropy);
    Answer a;
    for (int guard = 0; guard < 1000; ++guard) {
      const Action act = ex.next();
      if (act == Action::kFinish) break;
      if (act == Action::kReadBody) {
        ex.on_body(body, now);
      } else if (act == Action::kFetch) {
        UpstreamRequest taken;
        if (take_requests) taken = ex.take_upstream_request();
        const UpstreamRequest& r = take_requests ? taken : ex.upstream_request();
        a.upstream.push_back({r.url, find_auth(r), r.body});
        ex.on_upstream_connected(now);
        const Reply reply = upstream(r);
        ex.on_upstream_head(reply.status, {}, now);
        for (char c : reply.body) {  // one byte at a time: any slicing must work
          if (ex.next() != Action::kReadUpstream) break;
          ex.on_upstream_data(std::string_view(&c, 1), now);
        }
        if (ex.next() == Action::kReadUpstream) {
          if (reply.reset_after_body) {
            ex.on_upstream_error(NetError::kReset, now);
          } else {
            ex.on_upstream_end(now);
          }
        }
      } else if (act == Action::kWait) {
        serve_jobs();
        now += 10;
        ex.on_timer(now);
      } else {
        FAIL("unexpected action");
      }
      if (ex.head_ready() && a.status == 0) {
        a.status = ex.status();
        a.headers = ex.headers();
      }
      a.body += ex.take_output();
    }
    if (a.status == 0 && ex.head_ready()) {
      a.status = ex.status();
      a.headers = ex.headers();
    }
    a.body += ex.take_output();
    gw.finish(ex, now, wall);
    return a;
  }

  int64_t now = 1000;
  int64_t wall = 1764151200000;
  int tokens = 0;
  Gateway gw;
};

Reply ok_stream(const UpstreamRequest&) { return Reply{200, std::string(kAnswerOnly)}; }

const std::string kChat = R"({"model":"glm-4.6","messages":[{"role":"user","content":"Hi"}]})";

}  // namespace

TEST_CASE("health answers without auth; other routes need the key", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}});
  auto health = h.run("GET", "/healthz", "", ok_stream, {});
  CHECK(health.status == 200);
  CHECK(health.body == R"({"status":"ok"})");
  CHECK(!health.header("X-Request-Id").empty());
  CHECK(health.header("Access-Control-Allow-Origin") == "*");

  auto models = h.run("GET", "/v1/models", "", ok_stream, {});
  CHECK(models.status == 401);
  CHECK(models.body.find(R"("code":"invalid_api_key")") != std::string::npos);

  auto unknown_no_key = h.run("GET", "/nope", "", ok_stream, {});
  CHECK(unknown_no_key.status == 401);  // auth comes before routing
  auto unknown = h.run("GET", "/nope", "", ok_stream);
  CHECK(unknown.status == 404);
  auto wrong_method = h.run("GET", "/v1/chat/completions", "", ok_stream);
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.header("Allow") == "POST, OPTIONS");
  auto preflight = h.run("OPTIONS", "/v1/chat/completions", "", ok_stream, {});
  CHECK(preflight.status == 204);
}

TEST_CASE("a client request id is echoed when sane", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}});
  auto a = h.run("GET", "/healthz", "", ok_stream, {{"X-Request-Id", "abc-123"}});
  CHECK(a.header("X-Request-Id") == "abc-123");
  auto b = h.run("GET", "/healthz", "", ok_stream, {{"X-Request-Id", "bad id\"<>"}});
  CHECK(b.header("X-Request-Id") != "bad id\"<>");
  CHECK(b.header("X-Request-Id").rfind("req_", 0) == 0);
}

TEST_CASE("guest chat: token fetched, answer aggregated", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}, {"TOKEN_POOL_SIZE", "2"}});
  h.serve_jobs();
  auto a = h.run("POST", "/v1/chat/completions", kChat, ok_stream);
  REQUIRE(a.status == 200);
  CHECK(a.body.find(R"("content":"Paris is the capital")") != std::string::npos);
  CHECK(a.body.find(R"("object":"chat.completion")") != std::string::npos);
  CHECK(a.body.find(R"("total_tokens":21)") != std::string::npos);
  REQUIRE(a.upstream.size() == 1);
  CHECK(a.upstream[0].authorization == "Bearer tok-1");
  CHECK(a.upstream[0].body.find(R"("model":"GLM-4-6-API-V1")") != std::string::npos);
}

TEST_CASE("a taken upstream request is the one upstream_request() shows, retries included",
          "[gateway]") {
  std::vector<std::string> bodies[2];
  std::string answers[2];
  for (int take = 0; take < 2; ++take) {
    Harness h(EnvMap{{"API_KEY", "sk-test"}, {"TOKEN_POOL_SIZE", "2"}});
    h.take_requests = take == 1;
    h.serve_jobs();
    auto a = h.run("POST", "/v1/chat/completions", kChat, [](const UpstreamRequest& r) {
      if (find_auth(r) == "Bearer tok-1") return Reply{401, R"({"detail":"Unauthorized"})"};
      return Reply{200, std::string(kAnswerOnly)};
    });
    REQUIRE(a.status == 200);
    REQUIRE(a.upstream.size() == 2);  // the retry builds a fresh request after the take
    for (const auto& u : a.upstream) {
      CHECK(u.body.find(R"("model":"GLM-4-6-API-V1")") != std::string::npos);
      bodies[take].push_back(u.authorization + " " + u.url);
    }
    answers[take] = a.body.substr(a.body.find(R"("choices")"));
  }
  CHECK(bodies[0] == bodies[1]);
  CHECK(answers[0] == answers[1]);
}

TEST_CASE("least recently used token serves the next request", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}, {"TOKEN_POOL_SIZE", "3"}});
  h.serve_jobs();
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    auto a = h.run("POST", "/v1/chat/completions", kChat, ok_stream);
    REQUIRE(a.upstream.size() == 1);
    order.push_back(a.upstream[0].authorization);
    h.now += 1;
  }
  CHECK(order == std::vector<std::string>{"Bearer tok-1", "Bearer tok-2", "Bearer tok-3",
                                          "Bearer tok-1"});
}

TEST_CASE("a rejected token is retried on another and replaced", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}, {"TOKEN_POOL_SIZE", "2"}});
  h.serve_jobs();
  auto a = h.run("POST", "/v1/chat/completions", kChat, [](const UpstreamRequest& r) {
    if (find_auth(r) == "Bearer tok-1") return Reply{401, R"({"detail":"Unauthorized"})"};
    return Reply{200, std::string(kAnswerOnly)};
  });
  REQUIRE(a.status == 200);
  REQUIRE(a.upstream.size() == 2);
  CHECK(a.upstream[0].authorization == "Bearer tok-1");
  CHECK(a.upstream[1].authorization == "Bearer tok-2");
  h.serve_jobs();  // the replacement for the dead token
  CHECK(h.tokens == 3);
  std::vector<std::string> used;
  for (int i = 0; i < 2; ++i) {
    h.now += 1;
    used.push_back(h.run("POST", "/v1/chat/completions", kChat, ok_stream).upstream[0]
                       .authorization);
  }
  CHECK(std::find(used.begin(), used.end(), "Bearer tok-1") == used.end());
  CHECK(std::find(used.begin(), used.end(), "Bearer tok-3") != used.end());
}

TEST_CASE("streaming commits on the first delta; a cut after it is an error event", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}, {"TOKEN_POOL_SIZE", "1"}});
  h.serve_jobs();
  const std::string body =
      R"({"model":"glm-4.6","stream":true,"messages":[{"role":"user","content":"Hi"}]})";
  auto ok = h.run("POST", "/v1/chat/completions", body, ok_stream);
  REQUIRE(ok.status == 200);
  CHECK(ok.header("Content-Type").rfind("text/event-stream", 0) == 0);
  CHECK(ok.body.size() > 14);
  CHECK(ok.body.substr(ok.body.size() - 14) == "data: [DONE]\n\n");
  CHECK(ok.body.find("\"usage\"") == std::string::npos);  // include_usage not asked

  h.now += 1;
  const std::string first = std::string(kAnswerOnly).substr(0, std::string(kAnswerOnly).find("\n\n") + 2);
  auto cut = h.run("POST", "/v1/chat/completions", body, [&](const UpstreamRequest&) {
    return Reply{200, first, true};
  });
  REQUIRE(cut.status == 200);
  CHECK(cut.body.find("Paris") != std::string::npos);
  CHECK(cut.body.find(R"("code":"upstream_truncated")") != std::string::npos);
  CHECK(cut.body.substr(cut.body.size() - 14) == "data: [DONE]\n\n");
}

TEST_CASE("check order: body size, JSON, fields, model, credentials", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}, {"TOKEN_POOL_SIZE", "0"}, {"MAX_BODY_BYTES", "2048"}});
  auto big = h.run("POST", "/v1/chat/completions", std::string(4096, ' '), ok_stream);
  CHECK(big.status == 413);
  auto bad_json = h.run("POST", "/v1/chat/completions", "{", ok_stream);
  CHECK(bad_json.status == 400);
  CHECK(bad_json.body.find(R"("code":"invalid_json")") != std::string::npos);
  auto no_model = h.run("POST", "/v1/chat/completions", R"({"messages":[]})", ok_stream);
  CHECK(no_model.status == 400);
  auto unknown_model = h.run("POST", "/v1/chat/completions",
                             R"({"model":"gpt-9","messages":[{"role":"user","content":"x"}]})",
                             ok_stream);
  CHECK(unknown_model.status == 404);
  auto none = h.run("POST", "/v1/chat/completions", kChat, ok_stream);
  CHECK(none.status == 503);
  CHECK(none.body.find(R"("code":"no_credentials")") != std::string::npos);
  auto ready = h.run("GET", "/readyz", "", ok_stream, {});
  CHECK(ready.status == 503);
}

TEST_CASE("API mode: a busy key is retried on the next, a content refusal is not", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}, {"ZAI_API_KEYS", "key-a,key-b"}});
  const std::string done_stream =
      "data: {\"id\":\"1\",\"created\":1,\"model\":\"glm-4.6\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\n\n"
      "data: {\"id\":\"1\",\"created\":1,\"model\":\"glm-4.6\",\"choices\":[{\"index\":0,"
      "\"finish_reason\":\"stop\",\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
      "data: [DONE]\n\n";
  const std::string body =
      R"({"model":"glm-4.6","stream":true,"messages":[{"role":"user","content":"Hi"}]})";
  auto busy = h.run("POST", "/v1/chat/completions", body, [&](const UpstreamRequest& r) {
    if (find_auth(r) == "Bearer key-a") {
      return Reply{429, R"({"error":{"code":"1302","message":"High concurrency"}})"};
    }
    return Reply{200, done_stream};
  });
  REQUIRE(busy.status == 200);
  REQUIRE(busy.upstream.size() == 2);
  CHECK(busy.upstream[1].authorization == "Bearer key-b");

  h.now += 100;
  auto refused = h.run("POST", "/v1/chat/completions", body, [&](const UpstreamRequest&) {
    return Reply{400, R"({"error":{"code":"1301","message":"unsafe"}})"};
  });
  CHECK(refused.status == 400);
  CHECK(refused.body.find(R"("code":"content_filter")") != std::string::npos);
  CHECK(refused.upstream.size() == 1);
}

TEST_CASE("metrics count requests by route and status", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}});
  h.run("GET", "/healthz", "", ok_stream, {});
  h.run("GET", "/nope", "", ok_stream);
  auto m = h.run("GET", "/metrics", "", ok_stream);
  REQUIRE(m.status == 200);
  CHECK(m.body.find("zproxy_requests_total{route=\"healthz\",status=\"200\"} 1") !=
        std::string::npos);
  CHECK(m.body.find("zproxy_requests_total{route=\"other\",status=\"404\"} 1") !=
        std::string::npos);
  CHECK(m.body.find("zproxy_inflight_requests 1") != std::string::npos);
}

TEST_CASE("a bad setting answers 500 invalid_config except on /healthz", "[gateway]") {
  Harness h(EnvMap{{"PORT", "not-a-port"}});
  REQUIRE(h.gw.config_error() != nullptr);
  CHECK(h.run("GET", "/healthz", "", ok_stream, {}).status == 200);
  CHECK(h.run("GET", "/readyz", "", ok_stream, {}).status == 503);
  auto chat = h.run("POST", "/v1/chat/completions", kChat, ok_stream);
  CHECK(chat.status == 500);
  CHECK(chat.body.find(R"("code":"invalid_config")") != std::string::npos);
  CHECK(chat.body.find("PORT") != std::string::npos);
}

TEST_CASE("a Worker isolate bounds its open exchanges; the native host does not", "[gateway]") {
  const uint8_t entropy[32] = {7};
  auto chat_head = [](RequestHead& head) {
    head.method = "POST";
    head.target = "/v1/chat/completions";
    head.headers = {{"Authorization", "Bearer sk-test"}};
    head.content_length = static_cast<int64_t>(kChat.size());
  };
  for (const HostKind host : {HostKind::kWorker, HostKind::kNative}) {
    Harness h(EnvMap{{"API_KEY", "sk-test"}}, host);
    RequestHead head;
    chat_head(head);
    std::vector<Exchange*> open;
    for (size_t i = 0; i < kWorkerMaxOpenExchanges; ++i) {
      open.push_back(&h.gw.start(head, h.now, h.wall, entropy));
      REQUIRE(open.back()->next() == Action::kReadBody);
    }
    Exchange& extra = h.gw.start(head, h.now, h.wall, entropy);
    if (host == HostKind::kWorker) {
      REQUIRE(extra.next() == Action::kFinish);
      CHECK(extra.status() == 429);
      const std::string body = extra.take_output();
      CHECK(body.find(R"("code":"rate_limit_exceeded")") != std::string::npos);
      CHECK(body.find("limit 256") != std::string::npos);
      bool retry_after = false;
      for (const Header& hd : extra.headers()) retry_after |= hd.name == "Retry-After";
      CHECK(retry_after);
      // Health still answers, and a freed slot serves the next chat request.
      CHECK(h.run("GET", "/healthz", "", ok_stream, {}).status == 200);
      h.gw.finish(extra, h.now, h.wall);
      h.gw.finish(*open.back(), h.now, h.wall);
      open.pop_back();
      CHECK(h.run("POST", "/v1/chat/completions", kChat, ok_stream).status == 200);
    } else {
      CHECK(extra.next() == Action::kReadBody);
      h.gw.finish(extra, h.now, h.wall);
    }
    for (Exchange* ex : open) h.gw.finish(*ex, h.now, h.wall);
  }
}
