// The gateway driven like a host would drive it, against a scripted upstream: routing, auth,
// the check order, token fetches, retries before the commit point, streaming, and metrics.

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "engine/gateway.h"
#include "gateway_harness.h"

using namespace zproxy;
using namespace zproxy::testing;

namespace {

Reply ok_stream(const UpstreamRequest&) {
  return Reply{200, std::string(kAnswerOnly)};
}

const std::string kChat = R"({"model":"glm-4.6","messages":[{"role":"user","content":"Hi"}]})";

// Two guest tokens; upstream rejects the first (401), answers on the second.
Got first_token_rejected(Harness& h) {
  h.serve_jobs();
  return h.run("POST", "/v1/chat/completions", kChat, [](const UpstreamRequest& r) {
    if (find_auth(r) == "Bearer tok-1") return Reply{401, R"({"detail":"Unauthorized"})"};
    return Reply{200, std::string(kAnswerOnly)};
  });
}

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

TEST_CASE("every attempt hands over a fresh request once; the step counts attempts", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}, {"TOKEN_POOL_SIZE", "2"}});
  auto a = first_token_rejected(h);
  REQUIRE(a.status == 200);
  REQUIRE(a.upstream.size() == 2);  // the retry builds a fresh request after the hand-over
  for (const auto& u : a.upstream) {
    CHECK(u.body.find(R"("model":"GLM-4-6-API-V1")") != std::string::npos);
  }
  CHECK(a.upstream[0].authorization == "Bearer tok-1");
  CHECK(a.upstream[1].authorization == "Bearer tok-2");
  CHECK(h.logs.find(R"("attempts":2)") != std::string::npos);

  // begin_fetch outside kFetch hands over nothing and changes nothing.
  RequestHead head;
  head.method = "POST";
  head.target = "/v1/chat/completions";
  head.headers = {{"Authorization", "Bearer sk-test"}};
  const uint8_t entropy[32] = {9};
  auto ex = h.gw.start(head, h.now, h.wall, entropy);
  REQUIRE(ex->step().action == Action::kReadBody);
  CHECK(ex->begin_fetch().url.empty());
  Step step = ex->on_body(kChat, h.now);
  REQUIRE(step.action == Action::kFetch);
  CHECK(step.attempt == 1);
  CHECK(!ex->begin_fetch().url.empty());
  CHECK(ex->step().action == Action::kReadUpstream);
  CHECK(ex->begin_fetch().url.empty());  // acknowledged: a second call gets nothing
  step = ex->on_client_gone(h.now);
  CHECK(step.action == Action::kFinish);
  h.gw.finish(std::move(ex), h.now, h.wall);
}

TEST_CASE("poll hands over logs, jobs and version changes once", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}, {"TOKEN_POOL_SIZE", "1"}});
  Poll first = h.gw.poll(h.now);
  REQUIRE(first.jobs.size() == 1);
  const auto* fetch = std::get_if<HttpFetch>(&first.jobs[0].work);
  REQUIRE(fetch != nullptr);
  CHECK(fetch->request.url.find("/api/v1/auths/") != std::string::npos);
  CHECK(fetch->timeout_ms == 5000 + 60000);  // connect + first byte
  CHECK(fetch->max_body_bytes == kNativeLimits.max_job_body_bytes);
  CHECK(h.gw.poll(h.now).jobs.empty());  // in flight: not handed out twice
  h.gw.on_job_done(first.jobs[0].id, HttpResult{200, R"({"token":"t"})"}, h.now, h.wall);
  Poll after = h.gw.poll(h.now);
  CHECK(after.changed);  // a credential arrived: waiting exchanges may proceed
  CHECK(!h.gw.poll(h.now).changed);
  h.gw.log(LogLevel::kWarn, "test_event", "hello", h.wall);
  RequestHead head;
  head.method = "GET";
  head.target = "/healthz";
  const uint8_t entropy[32] = {4};
  auto ex = h.gw.start(head, h.now, h.wall, entropy);
  CHECK(ex->step().poll);  // the log line waits for the host
  const std::string logs = h.gw.poll(h.now).logs;
  CHECK(logs.find(R"("event":"test_event")") != std::string::npos);
  CHECK(!ex->step().poll);
  h.gw.finish(std::move(ex), h.now, h.wall);
  CHECK(h.gw.poll(h.now).changed);  // a finished exchange may free a slot
}

TEST_CASE("a step asks for a poll while a token fetch is due", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}, {"TOKEN_POOL_SIZE", "1"}});
  RequestHead head;  // no poll yet: the token fetches are due, not handed out
  head.method = "POST";
  head.target = "/v1/chat/completions";
  head.headers = {{"Authorization", "Bearer sk-test"}};
  const uint8_t entropy[32] = {5};
  auto ex = h.gw.start(head, h.now, h.wall, entropy);
  Step step = ex->on_body(kChat, h.now);
  REQUIRE(step.action == Action::kWait);
  CHECK(step.poll);  // the host learns that the fetch this exchange waits for is due
  Poll p = h.gw.poll(h.now);
  REQUIRE(p.jobs.size() == 1);
  CHECK(!ex->on_timer(h.now).poll);  // handed out: nothing more until it is done
  const auto* fetch = std::get_if<HttpFetch>(&p.jobs[0].work);
  REQUIRE(fetch != nullptr);
  h.gw.on_job_done(p.jobs[0].id, HttpResult{200, R"({"token":"t"})"}, h.now, h.wall);
  CHECK(h.gw.poll(h.now).changed);
  step = ex->on_timer(h.now);
  CHECK(step.action == Action::kFetch);
  h.gw.finish(std::move(ex), h.now, h.wall);
}

TEST_CASE("host answers have the exchange's error shape and headers", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}});
  const Answer a = h.gw.host_answer(503, make_error(Errc::kInternalError, "busy"), 1, "req_x");
  CHECK(a.status == 503);
  CHECK(a.body == error_json(make_error(Errc::kInternalError, "busy")));
  auto header = [&](std::string_view name) {
    for (const Header& hd : a.headers) {
      if (hd.name == name) return hd.value;
    }
    return std::string("(none)");
  };
  CHECK(header("Content-Type") == "application/json");
  CHECK(header("Access-Control-Allow-Origin") == "*");
  CHECK(header("Access-Control-Expose-Headers") == "X-Request-Id, Retry-After");
  CHECK(header("X-Request-Id") == "req_x");
  CHECK(header("Retry-After") == "1");
  const Answer b = h.gw.host_answer(400, make_error(Errc::kInvalidValue, "bad"), -1, "");
  CHECK(b.status == 400);
  for (const Header& hd : b.headers) {
    CHECK(hd.name != "X-Request-Id");
    CHECK(hd.name != "Retry-After");
  }
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
  CHECK(order ==
        std::vector<std::string>{"Bearer tok-1", "Bearer tok-2", "Bearer tok-3", "Bearer tok-1"});
}

TEST_CASE("a rejected token is retried on another and replaced", "[gateway]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}, {"TOKEN_POOL_SIZE", "2"}});
  auto a = first_token_rejected(h);
  REQUIRE(a.status == 200);
  REQUIRE(a.upstream.size() == 2);
  CHECK(a.upstream[0].authorization == "Bearer tok-1");
  CHECK(a.upstream[1].authorization == "Bearer tok-2");
  h.serve_jobs();  // the replacement for the dead token
  CHECK(h.tokens == 3);
  std::vector<std::string> used;
  for (int i = 0; i < 2; ++i) {
    h.now += 1;
    used.push_back(
        h.run("POST", "/v1/chat/completions", kChat, ok_stream).upstream[0].authorization);
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
  const std::string first =
      std::string(kAnswerOnly).substr(0, std::string(kAnswerOnly).find("\n\n") + 2);
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
  auto unknown_model =
      h.run("POST", "/v1/chat/completions",
            R"({"model":"gpt-9","messages":[{"role":"user","content":"x"}]})", ok_stream);
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

TEST_CASE("a host's open-exchange limit bounds chat requests; 0 bounds nothing", "[gateway]") {
  const uint8_t entropy[32] = {7};
  auto chat_head = [](RequestHead& head) {
    head.method = "POST";
    head.target = "/v1/chat/completions";
    head.headers = {{"Authorization", "Bearer sk-test"}};
    head.content_length = static_cast<int64_t>(kChat.size());
  };
  for (const HostLimits limits : {kWorkerLimits, kNativeLimits}) {
    Harness h(EnvMap{{"API_KEY", "sk-test"}}, limits);
    RequestHead head;
    chat_head(head);
    std::vector<std::unique_ptr<Exchange>> open;
    for (size_t i = 0; i < kWorkerLimits.max_open_exchanges; ++i) {
      open.push_back(h.gw.start(head, h.now, h.wall, entropy));
      REQUIRE(open.back()->step().action == Action::kReadBody);
    }
    std::unique_ptr<Exchange> extra = h.gw.start(head, h.now, h.wall, entropy);
    if (limits.max_open_exchanges > 0) {
      const Step step = extra->step();
      REQUIRE(step.action == Action::kFinish);
      REQUIRE(step.head_ready);
      CHECK(extra->status() == 429);
      const std::string body = extra->take_output();
      CHECK(body.size() == step.output_bytes);
      CHECK(body.find(R"("code":"rate_limit_exceeded")") != std::string::npos);
      CHECK(body.find("limit 256") != std::string::npos);
      bool retry_after = false;
      for (const Header& hd : extra->headers()) retry_after |= hd.name == "Retry-After";
      CHECK(retry_after);
      // Health still answers, and a freed slot serves the next chat request.
      CHECK(h.run("GET", "/healthz", "", ok_stream, {}).status == 200);
      h.gw.finish(std::move(extra), h.now, h.wall);
      h.gw.finish(std::move(open.back()), h.now, h.wall);
      open.pop_back();
      CHECK(h.run("POST", "/v1/chat/completions", kChat, ok_stream).status == 200);
    } else {
      CHECK(extra->step().action == Action::kReadBody);
      h.gw.finish(std::move(extra), h.now, h.wall);
    }
    for (auto& ex : open) h.gw.finish(std::move(ex), h.now, h.wall);
    CHECK(h.gw.open_exchanges() == 0);
  }
}

// ---- the Messages dialect (docs/contract.md §12) --------------------------------------------

namespace {

const EnvMap kApiEnv = {{"API_KEY", "sk-test"},
                        {"UPSTREAM_MODE", "api"},
                        {"ZAI_API_KEYS", "zk-one,zk-two"},
                        {"ZAI_API_BASE_URL", "http://upstream.test/api/paas/v4"}};

constexpr std::string_view kApiAnswer =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi "
    "there\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{"
    "\"prompt_tokens\":15,\"completion_tokens\":9,\"total_tokens\":24,"
    "\"prompt_tokens_details\":{\"cached_tokens\":3}}}\n\n"
    "data: [DONE]\n\n";

std::string messages_body(std::string_view extra = {}) {
  return std::string(R"({"model":"claude-haiku-4-5-20251001","max_tokens":512,)") +
         std::string(extra) + R"("messages":[{"role":"user","content":"Hi"}]})";
}

Reply api_stream(const UpstreamRequest&) {
  return Reply{200, std::string(kApiAnswer)};
}

bool has(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("messages: x-api-key or Bearer; errors in the Anthropic shape", "[gateway][messages]") {
  Harness h(kApiEnv);
  auto by_x_api_key = h.run("POST", "/v1/messages?beta=true", messages_body(R"("stream":true,)"),
                            api_stream, {{"x-api-key", "sk-test"}});
  CHECK(by_x_api_key.status == 200);
  CHECK(by_x_api_key.header("request-id") == by_x_api_key.header("X-Request-Id"));
  CHECK(by_x_api_key.header("Access-Control-Expose-Headers") ==
        "X-Request-Id, Retry-After, request-id");
  auto by_bearer = h.run("POST", "/v1/messages", messages_body(R"("stream":true,)"), api_stream);
  CHECK(by_bearer.status == 200);
  // x-api-key is the identity when both come.
  auto both = h.run("POST", "/v1/messages", messages_body(), api_stream,
                    {{"x-api-key", "wrong"}, {"Authorization", "Bearer sk-test"}});
  CHECK(both.status == 401);
  CHECK(has(both.body, R"({"type":"error","error":{"type":"authentication_error",)"));
  CHECK(has(both.body, R"("request_id":")" + both.header("request-id") + "\""));
  auto none = h.run("POST", "/v1/messages", messages_body(), api_stream, {});
  CHECK(none.status == 401);

  auto get = h.run("GET", "/v1/messages", "", api_stream);
  CHECK(get.status == 405);
  CHECK(get.header("Allow") == "POST");
  CHECK(has(get.body, R"("type":"invalid_request_error")"));
  auto batches = h.run("POST", "/v1/messages/batches", "{}", api_stream);
  CHECK(batches.status == 404);
  CHECK(has(batches.body, R"("type":"not_found_error")"));
  auto bad_json = h.run("POST", "/v1/messages", "{", api_stream);
  CHECK(bad_json.status == 400);
  CHECK(has(bad_json.body, R"({"type":"error","error":{"type":"invalid_request_error",)"));
  // The chat route keeps its own shape.
  auto chat = h.run("GET", "/v1/chat/completions", "", api_stream);
  CHECK(has(chat.body, R"({"error":{)"));
  CHECK(chat.header("request-id").empty());
}

TEST_CASE("messages: a stream in the exact event order; upstream gets the mapped request",
          "[gateway][messages]") {
  Harness h(kApiEnv);
  auto a = h.run(
      "POST", "/v1/messages",
      messages_body(
          R"("stream":true,"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=1"},{"type":"text","text":"Be brief."}],"metadata":{"user_id":")" +
          std::string(140, 'u') + R"("},)"),
      api_stream);
  REQUIRE(a.status == 200);
  CHECK(a.header("Content-Type") == "text/event-stream; charset=utf-8");
  std::vector<std::string> events;
  for (size_t at = 0; (at = a.body.find("event: ", at)) != std::string::npos;) {
    const size_t end = a.body.find('\n', at);
    events.push_back(a.body.substr(at + 7, end - at - 7));
    at = end;
  }
  CHECK(events == std::vector<std::string>{"message_start", "ping", "content_block_start",
                                           "content_block_delta", "content_block_stop",
                                           "message_delta", "message_stop"});
  CHECK(has(a.body, R"("model":"claude-haiku-4-5-20251001")"));
  CHECK(has(a.body, R"("stop_reason":"end_turn")"));
  CHECK(has(a.body, R"("input_tokens":12,"output_tokens":9,"cache_creation_input_tokens":0,)"
                    R"("cache_read_input_tokens":3)"));
  REQUIRE(a.upstream.size() == 1);
  const std::string& up = a.upstream[0].body;
  CHECK(has(up, R"("model":"glm-4.5-air")"));
  CHECK(has(up, R"("thinking":{"type":"disabled"})"));
  CHECK_FALSE(has(up, "billing-header"));
  CHECK(has(up, R"("user_id":")" + std::string(64, '0').substr(0, 0)));
  const size_t user = up.find(R"("user_id":")");
  REQUIRE(user != std::string::npos);
  CHECK(up.find('"', user + 11) - (user + 11) == 64);  // SHA-256 hex of the 140-char id
  CHECK(has(h.logs, R"("upstream_model":"glm-4.5-air")"));
  CHECK(has(h.logs, R"("stop_reason":"end_turn")"));
}

TEST_CASE("messages: tools, thinking and effort reach upstream; long tool names round-trip",
          "[gateway][messages]") {
  Harness h(kApiEnv);
  const std::string long_name(80, 'T');
  const std::string body =
      R"({"model":"claude-sonnet-4-5-20250929","max_tokens":1024,"stream":true,)"
      R"("thinking":{"type":"adaptive"},"output_config":{"effort":"high"},)"
      R"("context_management":{"edits":[]},"tools":[{"name":")" +
      long_name +
      R"(","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],)"
      R"("messages":[{"role":"user","content":"go"}]})";
  std::string sent_name;
  auto a = h.run("POST", "/v1/messages", body, [&](const UpstreamRequest& r) {
    const size_t at = r.body.find(R"("name":")");
    sent_name = r.body.substr(at + 8, r.body.find('"', at + 8) - at - 8);
    return Reply{200,
                 "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
                 "\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"" +
                     sent_name +
                     "\",\"arguments\":\"{}\"}}]}}]}\n\n"
                     "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
                     "\"tool_calls\"}]}\n\ndata: [DONE]\n\n"};
  });
  REQUIRE(a.status == 200);
  CHECK(sent_name.size() == 64);
  CHECK(sent_name.substr(0, 55) == long_name.substr(0, 55));
  CHECK(has(a.body, R"("name":")" + long_name + "\""));
  CHECK(has(a.body, R"("stop_reason":"tool_use")"));
  const std::string& up = a.upstream.at(0).body;
  CHECK(has(up, R"("model":"glm-4.7")"));
  CHECK(has(up, R"("thinking":{"type":"enabled"})"));
  CHECK(has(up, R"("reasoning_effort":"high")"));
  CHECK(has(up, R"("tool_stream":true)"));
  CHECK(has(up, R"("parameters":{"type":"object"})"));
}

TEST_CASE("messages: max_tokens 0 is answered without upstream", "[gateway][messages]") {
  Harness h(kApiEnv);
  const std::string body =
      R"({"model":"claude-opus-4-1","max_tokens":0,"messages":[{"role":"user","content":"Hi"}]})";
  auto a = h.run("POST", "/v1/messages", body, api_stream);
  CHECK(a.status == 200);
  CHECK(a.upstream.empty());
  CHECK(has(a.body, R"("content":[],"stop_reason":"max_tokens")"));
  auto missing = h.run("POST", "/v1/messages",
                       R"({"model":"claude-opus-4-1","messages":[{"role":"user","content":"Hi"}]})",
                       api_stream);
  CHECK(missing.status == 400);
  CHECK(has(missing.body, R"("message":"max_tokens)"));
  CHECK(missing.upstream.empty());
}

TEST_CASE("messages: overload on every attempt is 529 overloaded_error", "[gateway][messages]") {
  Harness h(kApiEnv);
  auto a = h.run("POST", "/v1/messages", messages_body(), [](const UpstreamRequest&) {
    return Reply{429, R"({"error":{"code":"1305","message":"busy"}})"};
  });
  CHECK(a.status == 529);
  CHECK(has(a.body, R"("type":"overloaded_error")"));
  CHECK(a.header("Retry-After") == "1");
  // The chat dialect says the same as 503 upstream_overloaded.
  auto chat = h.run("POST", "/v1/chat/completions", kChat, [](const UpstreamRequest&) {
    return Reply{503, "Service Unavailable"};
  });
  CHECK(chat.status == 503);
  CHECK(has(chat.body, R"("code":"upstream_overloaded")"));
  // Context length: Claude Code compacts on this wording.
  auto long_prompt = h.run("POST", "/v1/messages", messages_body(), [](const UpstreamRequest&) {
    return Reply{400, R"({"error":{"code":"1261","message":"too long"}})"};
  });
  CHECK(long_prompt.status == 400);
  CHECK(has(long_prompt.body, R"("message":"prompt is too long)"));
}

TEST_CASE("messages: guest mode refuses tools and images by their path", "[gateway][messages]") {
  Harness h(EnvMap{{"API_KEY", "sk-test"}});
  auto tools = h.run(
      "POST", "/v1/messages",
      messages_body(R"("tools":[{"name":"Read","input_schema":{"type":"object"}}],)"), ok_stream);
  CHECK(tools.status == 400);
  INFO(tools.body);
  CHECK(has(tools.body, R"("message":"tools: )"));
  const std::string image =
      R"({"model":"claude-haiku-4-5","max_tokens":5,"messages":[{"role":"user","content":[)"
      R"({"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}]})";
  auto img = h.run("POST", "/v1/messages", image, ok_stream);
  CHECK(img.status == 400);
  CHECK(has(img.body, R"("message":"messages.0.content.0: )"));
  auto unknown = h.run(
      "POST", "/v1/messages",
      R"({"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"x"}]})", ok_stream);
  CHECK(unknown.status == 404);
  CHECK(has(unknown.body, R"("type":"not_found_error")"));
}

TEST_CASE("count_tokens: the tokenizer's number, else the estimate", "[gateway][messages]") {
  const std::string body =
      R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hello there"}]})";
  Harness h(kApiEnv);
  auto tok = h.run("POST", "/v1/messages/count_tokens", body, [](const UpstreamRequest& r) {
    CHECK(r.url == "http://upstream.test/api/paas/v4/tokenizer");
    CHECK(
        has(r.body, R"({"model":"glm-4.6","messages":[{"role":"user","content":"Hello there"}]})"));
    return Reply{200, R"({"usage":{"prompt_tokens":123}})"};
  });
  CHECK(tok.status == 200);
  CHECK(tok.body == R"({"input_tokens":123})");
  // E = ceil(11/3) + 4*1 = 8
  auto failed = h.run("POST", "/v1/messages/count_tokens", body, [](const UpstreamRequest&) {
    return Reply{500, "oops"};
  });
  CHECK(failed.body == R"({"input_tokens":8})");
  auto cut = h.run("POST", "/v1/messages/count_tokens", body, [](const UpstreamRequest&) {
    return Reply{200, R"({"usage":{"prompt_tok)", true};
  });
  CHECK(cut.body == R"({"input_tokens":8})");
  CHECK(has(h.gw.poll(h.now).logs + h.logs, R"("source":"tokenizer")"));
  CHECK(has(h.logs, R"("source":"estimate")"));

  Harness guest(EnvMap{{"API_KEY", "sk-test"}});
  guest.serve_jobs();
  auto est = guest.run("POST", "/v1/messages/count_tokens", body, ok_stream);
  CHECK(est.body == R"({"input_tokens":8})");
  CHECK(est.upstream.empty());

  EnvMap off = kApiEnv;
  off["COUNT_TOKENS"] = "off";
  Harness h_off(off);
  auto gone = h_off.run("POST", "/v1/messages/count_tokens", body, api_stream);
  CHECK(gone.status == 404);
  CHECK(has(gone.body, R"("type":"not_found_error")"));
}

// ---- API mode adapts to each model (docs/contract.md §3: MODEL_CAPS, MODEL_FALLBACKS, …) ---

#include "core/effort.h"

TEST_CASE("efforts: the nearest a model offers, ties rounding up", "[gateway][caps]") {
  const std::vector<std::string> glm53 = {"low", "high", "max"};
  CHECK(nearest_effort("medium", glm53) == "high");
  CHECK(nearest_effort("xhigh", glm53) == "max");
  CHECK(nearest_effort("low", glm53) == "low");
  CHECK(nearest_effort("minimal", glm53) == "low");
  CHECK(nearest_effort("high", {}) == "");
}

TEST_CASE("caps: max_tokens lowered, always-thinking models, efforts mapped", "[gateway][caps]") {
  Harness h(kApiEnv);
  auto fetch = [&](std::string model, std::string extra) {
    std::string seen;
    h.run("POST", "/v1/chat/completions",
          R"({"model":")" + model + R"(",)" + extra +
              R"("messages":[{"role":"user","content":"Hi"}],"stream":true})",
          [&](const UpstreamRequest& r) {
            seen = r.body;
            return Reply{200, std::string(kApiAnswer)};
          });
    return seen;
  };
  CHECK(has(fetch("glm-4.5v", R"("max_tokens":50000,)"), R"("max_tokens":16384)"));
  CHECK(has(fetch("glm-4.6", R"("max_tokens":500,)"), R"("max_tokens":500)"));
  const std::string always = fetch("glm-5.3", R"("reasoning_effort":"none",)");
  CHECK(has(always, R"("thinking":{"type":"enabled"})"));
  CHECK_FALSE(has(always, "reasoning_effort"));
  CHECK(has(fetch("glm-5.3", R"("reasoning_effort":"medium",)"), R"("reasoning_effort":"high")"));
  CHECK_FALSE(has(fetch("glm-4.6", R"("reasoning_effort":"medium",)"), "reasoning_effort"));

  // A Messages client that asked for no thinking sees none, though glm-5.3 reasons.
  EnvMap env = kApiEnv;
  env["MODEL_CAPS"] = R"({"glm-4.7":{"max_output":1000,"thinking":"always","efforts":["low"]}})";
  Harness adapted(env);
  std::string up;
  auto a = adapted.run(
      "POST", "/v1/messages",
      R"({"model":"claude-sonnet-4-5","max_tokens":64000,"stream":true,"output_config":{"effort":"high"},"messages":[{"role":"user","content":"Hi"}]})",
      [&](const UpstreamRequest& r) {
        up = r.body;
        return Reply{
            200,
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hm\"}}]}\n\n" +
                std::string(kApiAnswer)};
      });
  CHECK(a.status == 200);
  CHECK(has(up, R"("max_tokens":1000)"));
  CHECK(has(up, R"("thinking":{"type":"enabled"})"));
  CHECK(has(up, R"("reasoning_effort":"low")"));
  CHECK_FALSE(has(a.body, "thinking"));
  CHECK(has(a.body, "Hi there"));

  EnvMap bad = kApiEnv;
  bad["MODEL_CAPS"] = R"({"glm-4.7":{"max_output":"lots"}})";
  Harness broken(bad);
  auto refused = broken.run("POST", "/v1/chat/completions", kChat, api_stream);
  CHECK(refused.status == 500);
  CHECK(has(refused.body, "MODEL_CAPS"));
}

TEST_CASE("fallbacks: an overloaded model hands the next attempt to the next one",
          "[gateway][caps]") {
  EnvMap env = kApiEnv;
  env["MODEL_FALLBACKS"] = R"({"glm-4.7":["glm-4.6","glm-4.5"]})";
  Harness h(env);
  std::vector<std::string> models;
  auto a = h.run("POST", "/v1/chat/completions",
                 R"({"model":"glm-4.7","messages":[{"role":"user","content":"Hi"}],"stream":true})",
                 [&](const UpstreamRequest& r) {
                   const size_t at = r.body.find(R"("model":")") + 9;
                   models.push_back(r.body.substr(at, r.body.find('"', at) - at));
                   if (models.size() == 1) return Reply{503, "busy"};
                   return Reply{200, std::string(kApiAnswer)};
                 });
  CHECK(a.status == 200);
  CHECK(models == std::vector<std::string>{"glm-4.7", "glm-4.6"});
  CHECK(has(a.body, R"("model":"glm-4.7")"));  // the client's name
  CHECK(has(h.logs, R"("upstream_model":"glm-4.6")"));
  CHECK(has(h.gw.poll(h.now).logs + h.logs, "upstream_model"));
}

TEST_CASE("vision: images for a text model go to VISION_MODEL, or get a 400 naming the part",
          "[gateway][caps]") {
  const std::string body =
      R"({"model":"glm-4.6","messages":[{"role":"user","content":[{"type":"text","text":"see"},)"
      R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]})";
  Harness refused(kApiEnv);
  auto no = refused.run("POST", "/v1/chat/completions", body, api_stream);
  CHECK(no.status == 400);
  CHECK(no.upstream.empty());
  CHECK(has(no.body, R"("param":"messages[0].content[1]")"));
  CHECK(has(no.body, "glm-4.5v"));
  EnvMap env = kApiEnv;
  env["VISION_MODEL"] = "glm-4.5v";
  Harness routed(env);
  auto yes = routed.run("POST", "/v1/chat/completions",
                        body.substr(0, body.size() - 1) + R"(,"max_tokens":99999,"stream":true})",
                        api_stream);
  CHECK(yes.status == 200);
  REQUIRE(yes.upstream.size() == 1);
  CHECK(has(yes.upstream[0].body, R"("model":"glm-4.5v")"));
  CHECK(has(yes.upstream[0].body, R"("max_tokens":16384)"));
  auto search = routed.run(
      "POST", "/v1/chat/completions",
      R"({"model":"glm-4.6","web_search_options":{},"messages":[{"role":"user","content":"x"}]})",
      api_stream);
  CHECK(search.status == 400);
  CHECK(has(search.body, R"("param":"web_search_options")"));
}

TEST_CASE("web search: Z.AI's tool upstream, its results as url_citation annotations",
          "[gateway][caps]") {
  EnvMap env = kApiEnv;
  env["WEB_SEARCH"] = "on";
  Harness h(env);
  const std::string results =
      R"("web_search":[{"title":"Paris - Wikipedia","link":"https://en.wikipedia.org/wiki/Paris","content":"…","refer":"ref_1"}])";
  const std::string stream =
      "data: {\"id\":\"1\"," + results +
      ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Paris\"}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
      "data: [DONE]\n\n";
  std::string up;
  auto chat = h.run(
      "POST", "/v1/chat/completions",
      R"({"model":"glm-4.6","web_search_options":{},"stream":true,"messages":[{"role":"user","content":"capital?"}]})",
      [&](const UpstreamRequest& r) {
        up = r.body;
        return Reply{200, stream};
      });
  CHECK(chat.status == 200);
  CHECK(has(
      up,
      R"("tools":[{"type":"web_search","web_search":{"enable":true,"search_engine":"search_pro_jina","search_result":true}}])"));
  CHECK(has(
      chat.body,
      R"("delta":{"annotations":[{"type":"url_citation","url_citation":{"end_index":5,"start_index":0,"title":"Paris - Wikipedia","url":"https://en.wikipedia.org/wiki/Paris"}}]})"));
  auto responses =
      h.run("POST", "/v1/responses",
            R"({"model":"glm-4.6","input":"capital?","tools":[{"type":"web_search"}]})",
            [&](const UpstreamRequest& r) {
              up = r.body;
              return Reply{200, stream};
            });
  CHECK(responses.status == 200);
  CHECK(has(up, R"("type":"web_search")"));
  CHECK(has(
      responses.body,
      R"("annotations":[{"type":"url_citation","start_index":0,"end_index":5,"title":"Paris - Wikipedia","url":"https://en.wikipedia.org/wiki/Paris"}])"));
  CHECK_FALSE(has(h.logs, "declined_tools"));
}

// ---- client keys (docs/contract.md §14: CLIENT_KEYS) ---------------------------------------

TEST_CASE("client keys: identity, model lists, rpm and quota refusals, usage", "[gateway][keys]") {
  EnvMap env = kApiEnv;
  env.erase("API_KEY");
  env["CLIENT_KEYS"] =
      R"([{"name":"team-a","key":"sk-a","models":["glm-4.6","glm-4.5*"],"rpm":2,"tokens_per_day":30},)"
      R"({"name":"team-b","key":"sk-b","disabled":true},{"name":"team-c","key":"sk-c","expires_at":"2020-01-01T00:00:00Z"}])";
  Harness h(env);
  const auto key = [](std::string k) {
    return std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + k}};
  };
  const std::string chat =
      R"({"model":"glm-4.6","stream":true,"messages":[{"role":"user","content":"Hi"}]})";
  CHECK(h.run("POST", "/v1/chat/completions", chat, api_stream, key("sk-b")).status == 401);
  CHECK(h.run("POST", "/v1/chat/completions", chat, api_stream, key("sk-c")).status == 401);
  CHECK(h.run("POST", "/v1/chat/completions", chat, api_stream, key("sk-test")).status == 401);

  auto forbidden = h.run("POST", "/v1/chat/completions",
                         R"({"model":"glm-4.7","messages":[{"role":"user","content":"Hi"}]})",
                         api_stream, key("sk-a"));
  CHECK(forbidden.status == 403);
  CHECK(has(forbidden.body, R"("code":"model_not_allowed")"));
  CHECK(forbidden.upstream.empty());

  auto first = h.run("POST", "/v1/chat/completions", chat, api_stream, key("sk-a"));
  CHECK(first.status == 200);
  CHECK(first.header("x-ratelimit-limit-requests") == "2");
  CHECK(first.header("x-ratelimit-remaining-requests") == "1");
  CHECK(first.header("x-ratelimit-reset-requests") == "1m");
  // 24 tokens charged (the answer's usage.total_tokens): /v1/usage shows them.
  auto usage = h.run("GET", "/v1/usage", "", api_stream, key("sk-a"));
  CHECK(usage.status == 200);
  CHECK(has(usage.body, R"("name":"team-a")"));
  CHECK(has(usage.body, R"("tokens_today":24)"));
  CHECK(has(usage.body, R"("rpm":2)"));
  CHECK(has(usage.body, R"("max_concurrent":null)"));
  CHECK_FALSE(has(usage.body, "sk-a"));

  auto second = h.run("POST", "/v1/chat/completions", chat, api_stream, key("sk-a"));
  CHECK(second.status == 200);
  CHECK(second.header("x-ratelimit-remaining-requests") == "0");
  // Over the day's 30 tokens now (48): insufficient_quota until tomorrow, no retry.
  auto quota = h.run("POST", "/v1/chat/completions", chat, api_stream, key("sk-a"));
  CHECK(quota.status == 429);
  CHECK(has(quota.body, R"("code":"insufficient_quota")"));
  CHECK(quota.header("x-should-retry") == "false");
  CHECK(!quota.header("Retry-After").empty());
  // /v1/models lists only what the key allows.
  auto models = h.run("GET", "/v1/models", "", api_stream, key("sk-a"));
  CHECK(has(models.body, R"("id":"glm-4.6")"));
  CHECK(has(models.body, R"("id":"glm-4.5-air")"));
  CHECK_FALSE(has(models.body, R"("id":"glm-4.7")"));
  CHECK_FALSE(has(h.gw.poll(h.now).logs + h.logs, "sk-a"));  // never a key in a log line
}

TEST_CASE("client keys: the rpm window and the Messages dialect's shape", "[gateway][keys]") {
  EnvMap env = kApiEnv;
  env["CLIENT_KEYS"] = R"([{"name":"solo","key":"sk-solo","rpm":1}])";
  Harness h(env);
  const std::vector<std::pair<std::string, std::string>> solo = {{"x-api-key", "sk-solo"}};
  CHECK(
      h.run("POST", "/v1/messages", messages_body(R"("stream":true,)"), api_stream, solo).status ==
      200);
  auto limited =
      h.run("POST", "/v1/messages", messages_body(R"("stream":true,)"), api_stream, solo);
  CHECK(limited.status == 429);
  CHECK(has(limited.body, R"("type":"rate_limit_error")"));
  CHECK(limited.header("Retry-After") == "60");
  CHECK(limited.header("anthropic-ratelimit-requests-limit") == "1");
  CHECK(limited.upstream.empty());
  // API_KEY stays valid beside CLIENT_KEYS, unlimited, as api-key-1.
  auto plain = h.run("GET", "/v1/usage", "", api_stream);
  CHECK(has(plain.body, R"("name":"api-key-1")"));
  h.now += 60000;
  h.wall += 60000;
  CHECK(
      h.run("POST", "/v1/messages", messages_body(R"("stream":true,)"), api_stream, solo).status ==
      200);
  EnvMap open = kApiEnv;
  open["CLIENT_KEYS"] = R"([{"name":"x","key":"k"}])";
  open["ALLOW_OPEN_ACCESS"] = "true";
  Harness refused(open);
  CHECK(refused.run("GET", "/v1/models", "", api_stream).status == 500);
}
