#include "exchange_driver.h"

#include <algorithm>
#include <functional>

#include "pool/credential_pool.h"

namespace zproxy::native {

namespace {

constexpr int64_t kTimerGuardMs = 50;  // when on_timer left the deadline in the past

}  // namespace

ExchangeDriver::ExchangeDriver(Host& host, ClientSide& client,
                               const asio::any_io_executor& executor)
    : host_(host), client_(client), executor_(executor), waker_(executor) {}

void ExchangeDriver::client_gone() {
  gone_ = true;
  if (fetching_) interrupt_fetch();
  if (reading_) interrupt_read();
  waker_.notify();
}

void ExchangeDriver::interrupt_read() {
  read_interrupted_ = true;
  if (reading_ && up_.call) up_.call->interrupt_wait();
}

void ExchangeDriver::interrupt_fetch() {
  fetch_interrupted_ = true;
  if (up_.call) up_.call->cancel();
}

asio::awaitable<void> ExchangeDriver::run(std::unique_ptr<Exchange> exchange) {
  ex_ = std::move(exchange);
  up_ = Upstream{};
  gone_ = false;
  gone_reported_ = false;
  no_fire_before_ = 0;
  call_attempt_ = 0;
  step_ = ex_->step();
  host_.after_step(step_);
  // The last piece of output leaves with the end of the response (below), in one send.
  while (step_.action != Action::kFinish) {
    const SendStatus sent = client_.send(*ex_, step_, false);
    if (sent == SendStatus::kPending) co_await client_.flush();
    step_.output_bytes = 0;  // sent (or dropped with a failed connection)
    if (deliver_events()) continue;
    const Action action = step_.action;
    if (action == Action::kFinish) break;
    if (action == Action::kReadBody) {
      co_await read_body();
      continue;
    }
    // The client is watched (its leaving stops the upstream call) from the first wait on;
    // an answer that is there at once needs no watch (each costs a readability wait).
    if (action == Action::kFetch) {
      co_await fetch();
      continue;
    }
    if (action == Action::kReadUpstream) {
      if (up_.wait) client_.watch();
      co_await read_upstream();
      continue;
    }
    client_.watch();
    host_.add_waiter(&waker_);
    co_await waker_.wait_until(timer_due());
    host_.remove_waiter(&waker_);  // a credential may have become free: let it look
    apply(ex_->on_timer(now_ms()));
  }
  const SendStatus sent = client_.send(*ex_, step_, true);
  if (sent == SendStatus::kPending) co_await client_.flush();
  abort_upstream();
  host_.gw().finish(std::move(ex_), now_ms(), wall_ms());
  host_.poll();
}

asio::awaitable<void> ExchangeDriver::read_body() {
  std::string body;
  const BodyStatus status = co_await client_.read_body(ex_->body_limit(), body);
  switch (status) {
    case BodyStatus::kRead: apply(ex_->on_body(body, now_ms())); break;
    case BodyStatus::kTooLarge: apply(ex_->on_body_too_large(now_ms())); break;
    case BodyStatus::kFailed: gone_ = true; co_return;  // reported by deliver_events()
  }
}

// One pending event per call, in causal order: results before timers. Returns false when
// nothing was pending.
bool ExchangeDriver::deliver_events() {
  const int64_t now = now_ms();
  if (up_.head) {
    HeadResult head = *up_.head;
    up_.head.reset();
    deliver_head(head, now);
    return true;
  }
  if (gone_ && !gone_reported_) {
    gone_reported_ = true;
    apply(ex_->on_client_gone(now));
    return true;
  }
  const int64_t due = timer_due();
  if (due == kNever || now < due) return false;
  apply(ex_->on_timer(now));
  no_fire_before_ = step_.deadline <= now ? now + kTimerGuardMs : 0;
  return true;
}

void ExchangeDriver::deliver_head(HeadResult head, int64_t now) {
  if (head.error != CallError::kNone) {
    apply(ex_->on_upstream_error(
        head.error == CallError::kConnect ? NetError::kConnect : NetError::kReset, now));
  } else {
    apply(ex_->on_upstream_head(head.status, now));
  }
}

void ExchangeDriver::deliver_read(const ReadResult& result, int64_t now) {
  if (!result.data.empty()) {
    apply(ex_->on_upstream_data(result.data, now));
    // The exchange may have moved on (done, or a new attempt): the end is not its concern.
    if (!up_.call) return;
  }
  if (result.error != CallError::kNone) {
    apply(ex_->on_upstream_error(NetError::kReset, now));
  } else if (result.end) {
    apply(ex_->on_upstream_end(now));
  }
}

// The running call stays only while the exchange reads this very attempt's answer; a new
// attempt, a wait or the end leave it no future: it is cancelled (its connection closed) now.
void ExchangeDriver::apply(const Step& step) {
  step_ = step;
  host_.after_step(step);
  if (up_.call && (step.action != Action::kReadUpstream || step.attempt != call_attempt_)) {
    abort_upstream();
  }
}

int64_t ExchangeDriver::timer_due() const {
  const int64_t d = step_.deadline;
  return d == kNever ? kNever : std::max(d, no_fire_before_);
}

// Connects, sends and reads the response head, awaited here: no task and no wake-up. The
// connection's coming up is delivered at once (it moves the deadline from the connect timeout
// to the first-byte one). The deadline and the client leaving cancel the call; the exchange
// then learns of those (deliver_events), not of the error the cancelled call returns.
asio::awaitable<void> ExchangeDriver::fetch() {
  up_ = Upstream{};
  up_.call = host_.upstream().make_call();
  const uint64_t gen = ++gen_;
  const std::shared_ptr<UpstreamCall> call = up_.call;  // alive for the await, whatever happens
  call_attempt_ = step_.attempt;
  UpstreamRequest request = ex_->begin_fetch();
  step_.action = Action::kReadUpstream;  // begin_fetch() acknowledged the fetch
  const int64_t connect_timeout_ms = ex_->connect_timeout_ms();
  fetching_ = true;
  fetch_interrupted_ = false;
  const auto interrupt = [this] { interrupt_fetch(); };
  waker_.call_at(timer_due(), interrupt);
  const std::function<void()> on_connected = [this, gen, interrupt] {
    if (gen_ != gen || fetch_interrupted_) return;
    apply(ex_->on_upstream_connected(now_ms()));
    if (gen_ == gen) waker_.call_at(timer_due(), interrupt);  // the first-byte deadline now
  };
  call->on_first_wait([this, gen] {
    if (gen_ == gen) client_.watch();
  });
  HeadResult head = co_await call->start(std::move(request), connect_timeout_ms, on_connected);
  fetching_ = false;
  waker_.clear_due();
  if (gen_ != gen) co_return;  // abandoned meanwhile (apply() aborted it)
  if (fetch_interrupted_) {
    abort_upstream();
    co_return;
  }
  up_.head = std::move(head);
}

// Delivers what the upstream call has now; when it has nothing, first waits for its socket to
// become readable. The deadline and the client leaving interrupt that wait (deliver_events
// then tells the exchange); interrupting it loses nothing, so a stream's keep-alive deadline
// can pass in the middle of a read.
asio::awaitable<void> ExchangeDriver::read_upstream() {
  if (!up_.call) {  // asked to read without a response: treat it as a lost connection
    apply(ex_->on_upstream_error(NetError::kReset, now_ms()));
    co_return;
  }
  if (up_.wait) {
    const uint64_t gen = gen_;
    const std::shared_ptr<UpstreamCall> call = up_.call;  // alive for the await
    read_interrupted_ = false;
    waker_.call_at(timer_due(), [this] { interrupt_read(); });
    if (read_interrupted_) {  // already due
      waker_.clear_due();
      co_return;
    }
    reading_ = true;
    co_await call->wait_readable();
    reading_ = false;
    waker_.clear_due();
    if (gen_ != gen || read_interrupted_) co_return;
  }
  const ReadResult result = up_.call->read_available();
  up_.wait = result.wait;
  if (result.data.empty() && !result.end && result.error == CallError::kNone) co_return;
  deliver_read(result, now_ms());
}

void ExchangeDriver::abort_upstream() {
  ++gen_;
  if (up_.call) up_.call->cancel();
  up_ = Upstream{};
}

}  // namespace zproxy::native
