// The jobs a gateway poll hands over: each guest token fetch runs as its own task, within the
// job's time budget and body cap; each state-store call goes to the Redis connection. Both
// report back with gw.on_job_done().

#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include "host.h"
#include "redis_client.h"
#include "upstream_client.h"

namespace zproxy::native {

namespace {

// Status 0 reports a network failure or timeout, as gw.on_job_done() expects.
asio::awaitable<void> run_fetch(Host& host, uint64_t id, HttpFetch fetch) {
  const Config& cfg = host.gw().config();
  std::shared_ptr<UpstreamCall> call = host.upstream().make_call();
  call->cancel_after(fetch.timeout_ms);
  const std::function<void()> no_callback;
  const HeadResult head =
      co_await call->start(std::move(fetch.request), cfg.connect_timeout_ms, no_callback);
  int status = 0;
  std::string body;
  if (head.error == CallError::kNone) {
    status = head.status;
    while (body.size() <= fetch.max_body_bytes) {
      const ReadResult r = call->read_available();
      body.append(r.data);
      if (r.error != CallError::kNone) status = 0;
      if (r.error != CallError::kNone || r.end) break;
      if (r.wait) co_await call->wait_readable();
    }
    if (body.size() > fetch.max_body_bytes) body.resize(fetch.max_body_bytes);
  }
  call->cancel();  // no-op for a connection already back in the idle cache
  if (host.stopping()) co_return;
  const std::string_view seen = status == 0 ? std::string_view() : std::string_view(body);
  host.gw().on_job_done(id, HttpResult{status, seen}, now_ms(), wall_ms());
  host.poll();
}

// The client answers later on the loop, never from inside perform(): gw.poll() is not re-entered.
void run_store_call(Host& host, uint64_t id, const StoreCall& call) {
  auto report = [&host, id](const StoreResult& result) {
    if (host.stopping()) return;
    host.gw().on_job_done(id, result, now_ms(), wall_ms());
    host.poll();
  };
  if (RedisClient* store = host.store()) {
    store->perform(call, std::move(report));
    return;
  }
  asio::post(host.io(), [report] {  // no store configured on this host
    StoreResult r;
    r.error = "connect";
    report(r);
  });
}

}  // namespace

void start_job(Host& host, Job job) {
  if (auto* fetch = std::get_if<HttpFetch>(&job.work)) {
    asio::co_spawn(host.io(), run_fetch(host, job.id, std::move(*fetch)), asio::detached);
  } else if (const auto* call = std::get_if<StoreCall>(&job.work)) {
    run_store_call(host, job.id, *call);
  }
}

}  // namespace zproxy::native
