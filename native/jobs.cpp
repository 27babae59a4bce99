// The background job loop: performs the requests gw.take_jobs() hands out (guest token
// fetches) and reports each with gw.on_job_done(); sleeps until gw.next_deadline() or a wake.

#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "host.h"
#include "upstream_client.h"

namespace zproxy::native {

namespace {

constexpr size_t kMaxJobBody = 1u << 20;  // a token answer is < 1 KiB; anything huge is junk

// Status 0 reports a network failure or timeout, as gw.on_job_done() expects.
asio::awaitable<void> run_job(Host& host, Job job) {
  const Config& cfg = host.gw().config();
  std::shared_ptr<UpstreamCall> call = host.upstream().make_call();
  call->cancel_after(cfg.connect_timeout_ms + cfg.first_byte_timeout_ms);
  const std::function<void()> no_callback;
  const HeadResult head =
      co_await call->start(std::move(job.request), cfg.connect_timeout_ms, no_callback);
  int status = 0;
  std::string body;
  if (head.error == CallError::kNone) {
    status = head.status;
    while (body.size() <= kMaxJobBody) {
      const ReadResult r = co_await call->read(body);
      if (r.error != CallError::kNone) status = 0;
      if (r.error != CallError::kNone || r.end) break;
    }
  }
  call->cancel();  // no-op for a connection already back in the idle cache
  if (host.stopping()) co_return;
  host.gw().on_job_done(job.id, status, status == 0 ? std::string_view() : body, now_ms(),
                        wall_ms());
  host.after_core_call();
}

}  // namespace

asio::awaitable<void> run_jobs(Host& host) {
  while (!host.stopping()) {
    std::vector<Job> jobs = host.gw().take_jobs(now_ms());
    for (Job& job : jobs) asio::co_spawn(host.io(), run_job(host, std::move(job)), asio::detached);
    host.after_core_call(false);
    const int64_t deadline = host.gw().next_deadline(now_ms());
    host.jobs_sleep_until(deadline);
    co_await host.jobs_waker().wait_until(deadline);
    host.jobs_sleep_until(kNever);
  }
  host.jobs_waker().cancel_timer();
}

}  // namespace zproxy::native
