#pragma once
// A host for unit tests: drives the gateway as the native and Worker hosts do (head, output,
// polls, token fetches, state-store jobs, timers) against a scripted upstream.

#include <catch2/catch.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/gateway.h"

namespace zproxy::testing {

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

struct Got {
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

inline std::string find_auth(const UpstreamRequest& r) {
  for (const auto& h : r.headers) {
    if (h.name == "Authorization") return h.value;
  }
  return {};
}

class Harness {
 public:
  explicit Harness(EnvMap env, HostLimits limits = kNativeLimits) : gw(env, limits, now, wall) {}

  // Collects what a poll hands over; its jobs wait for serve_jobs().
  void poll() {
    Poll p = gw.poll(now);
    logs += p.logs;
    for (Job& j : p.jobs) jobs.push_back(std::move(j));
  }

  // Serves pending token fetches with tokens tok-1, tok-2, …
  void serve_jobs() {
    int rounds = 0;
    for (;;) {
      poll();
      if (jobs.empty()) return;
      if (++rounds > 1000) FAIL("jobs never stop coming");
      std::vector<Job> now_due;
      now_due.swap(jobs);
      for (Job& j : now_due) {
        if (const auto* call = std::get_if<StoreCall>(&j.work)) {
          CHECK(call->timeout_ms > 0);
          calls.push_back(call->op);
          std::optional<StoreResult> r = store ? store(call->op) : std::nullopt;
          if (r) {
            gw.on_job_done(j.id, *r, now, wall);
          } else {
            stalled.push_back(std::move(j));  // a store that never answers
          }
          continue;
        }
        const auto* fetch = std::get_if<HttpFetch>(&j.work);
        REQUIRE(fetch != nullptr);
        CHECK(fetch->timeout_ms > 0);
        CHECK(fetch->max_body_bytes > 0);
        const std::string body = R"({"token":"tok-)" + std::to_string(++tokens) + R"("})";
        gw.on_job_done(j.id, HttpResult{200, body}, now, wall);
      }
    }
  }

  // Acts on a step as a host does: the head once, the output it announces, a poll when asked.
  void take(Exchange& ex, const Step& step, Got& a) {
    if (step.head_ready && a.status == 0) {
      a.status = ex.status();
      a.headers = ex.headers();
    }
    const std::string out = ex.take_output();
    CHECK(out.size() == step.output_bytes);
    a.body += out;
    if (step.poll) poll();
  }

  Got run(std::string method, std::string target, std::string body,
          std::function<Reply(const UpstreamRequest&)> upstream,
          std::vector<std::pair<std::string, std::string>> headers = {
              {"Authorization", "Bearer sk-test"}}) {
    RequestHead head;
    head.method = method;
    head.target = target;
    for (const auto& [k, v] : headers) head.headers.emplace_back(k, v);
    head.content_length = static_cast<int64_t>(body.size());
    const uint8_t entropy[32] = {1, 2, 3};
    std::unique_ptr<Exchange> ex = gw.start(head, now, wall, entropy);
    Got a;
    Step step = ex->step();
    uint32_t attempt = 0;
    for (int guard = 0; guard < 1000; ++guard) {
      take(*ex, step, a);
      if (step.action == Action::kFinish) break;
      if (step.action == Action::kReadBody) {
        step = ex->on_body(body, now);
      } else if (step.action == Action::kFetch) {
        CHECK(step.attempt == attempt + 1);  // every fetch is a new attempt
        attempt = step.attempt;
        const UpstreamRequest r = ex->begin_fetch();
        a.upstream.push_back({r.url, find_auth(r), r.body});
        step = ex->on_upstream_connected(now);
        take(*ex, step, a);
        const Reply reply = upstream(r);
        step = ex->on_upstream_head(reply.status, now);
        for (char c : reply.body) {  // one byte at a time: any slicing must work
          if (step.action != Action::kReadUpstream) break;
          take(*ex, step, a);
          step = ex->on_upstream_data(std::string_view(&c, 1), now);
        }
        if (step.action == Action::kReadUpstream) {
          take(*ex, step, a);
          step = reply.reset_after_body ? ex->on_upstream_error(NetError::kReset, now)
                                        : ex->on_upstream_end(now);
        }
      } else if (step.action == Action::kWait) {
        serve_jobs();
        now += wait_step_ms;
        step = ex->on_timer(now);
      } else {
        FAIL("unexpected action");
      }
    }
    gw.finish(std::move(ex), now, wall);
    poll();
    return a;
  }

  int64_t now = 1000;
  int64_t wait_step_ms = 10;  // how far time moves while an exchange waits
  int64_t wall = 1764151200000;
  int tokens = 0;
  std::string logs;       // every line the gateway produced
  std::vector<Job> jobs;  // handed over by a poll, not served yet
  // The state store: answers a StoreCall, or nullopt to leave it unanswered (then the job
  // waits in `stalled`). Unset: every call stalls.
  std::function<std::optional<StoreResult>(const StoreOp&)> store;
  std::vector<StoreOp> calls;  // every operation the gateway asked for
  std::vector<Job> stalled;
  Gateway gw;
};

}  // namespace zproxy::testing
