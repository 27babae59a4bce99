#pragma once
// What every part of the native host shares: the clocks, the entropy source, a wake-up
// primitive for coroutines, and the Host context that owns the one Gateway of the process.
// Everything here runs on the single event-loop thread.
//
// Coroutine rules for this code base (GCC 12.2 miscompiles the alternatives):
//   - co_await never appears inside a condition: write `bool ok = co_await f(); if (!ok)`,
//     not `if (!co_await f())` (the frame resumes at a bogus state: SIGILL).
//   - a co_await expression holds no conditional operator and no lambda that builds a
//     temporary: `co_await f(c ? g(x) : std::move(y))` destroys that temporary twice.
//   Name such values in a statement of their own first.

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

// GCC 12 misreads Asio's recycling coroutine-frame allocator (operator new of a larger block,
// sized delete of the frame) as a mismatched pair wherever it inlines it into our coroutines.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/gateway.h"
#include "pool/credential_pool.h"  // kNever

namespace zproxy::native {

namespace asio = boost::asio;

class UpstreamClient;
class RedisClient;

// Monotonic milliseconds (the gateway's `now`) and Unix milliseconds (its `wall`).
int64_t now_ms();
int64_t wall_ms();

// 32 bytes from the process CSPRNG, seeding one exchange's ids.
std::array<uint8_t, 32> entropy();

// Writes all of `text` to stderr (log lines are whole lines: never interleaved mid-line).
void write_stderr(std::string_view text);

// A complete `Connection: close` HTTP/1.1 response for what the host answers itself
// (unparsable requests, connection shedding): the core's Gateway::host_answer, with a fresh
// X-Request-Id, serialised.
std::string host_error_response(const Gateway& gw, int status, std::string_view message,
                                int retry_after_s = -1);

// The status line and headers of an HTTP/1.1 response, CRLF-terminated, without the blank
// line. Header fields that could break the framing (CR, LF, NUL, or a name the host owns:
// Content-Length, Transfer-Encoding, Connection) are left out.
void append_response_head(std::string& out, int status, const std::vector<Header>& headers);

// One large read buffer per thread. A connection waits until its socket is readable, then
// reads everything there is into `in` (one system call for an answer that arrived at once)
// and parses it at once; only what stays unparsed (a partial line, a partial chunk header) is
// kept, by its holder. So the memory of an open stream does not grow with the size of reads.
// `out` receives an answer's body decoded from `in`; it is valid until the next read on this
// thread, long enough to hand it to the exchange.
inline constexpr size_t kScratchBytes = 128u << 10;  // at least an upstream head's limit

// Keeps unparsed bytes in the scratch buffer's `in` until someone else reads into it.
class ScratchHolder {
 public:
  // Another connection needs `in`: move the unparsed bytes into storage of your own.
  virtual void spill() = 0;

 protected:
  ~ScratchHolder() = default;
};

struct ReadScratch {
  std::array<char, kScratchBytes> in;
  std::array<char, kScratchBytes> out;
  ScratchHolder* holder = nullptr;  // whose unparsed bytes sit in `in`
};

// Whether to read before waiting for readability. After sending, a connection usually waits
// for its answer (or a client for its next request) with a readability wait, which Asio 1.74
// pays with an epoll_ctl re-arm. Under load, letting the loop turn's other ready handlers run
// first and then reading usually finds the bytes there: one read, no wait. When the process
// is idle the read finds nothing (EAGAIN) and the wait follows anyway. So each site learns
// from its outcomes (per thread): it reads first while that pays, and after a miss only every
// kProbeEvery-th time, to notice when load returns.
class EarlyReads {
 public:
  enum Site : uint8_t { kUpstreamAnswer, kNextRequest, kSites };
  bool worth_trying() {
    if (score_ >= 0) return true;
    if (++skipped_ < kProbeEvery) return false;
    skipped_ = 0;
    return true;
  }
  void outcome(bool got) { score_ = got ? std::min(score_ + 1, kMaxScore) : -1; }

 private:
  static constexpr int kMaxScore = 2;
  static constexpr int kProbeEvery = 16;
  int score_ = 0;
  int skipped_ = 0;
};
EarlyReads& early_reads(EarlyReads::Site site);

// This thread's scratch buffer. claim() hands out `in` to `user`: a different holder spills
// its bytes first; `user` becomes the holder.
ReadScratch& read_scratch();
char* claim_scratch(ScratchHolder* user);

// A one-waiter event: wait_until() returns at `deadline` (monotonic ms, kNever for none) or
// as soon as notify() is called. A notify() that arrives while nobody waits is remembered,
// so "check state, then wait" cannot miss it.
//
// Deadlines cost no timer operation when they only move later (the usual case: each request
// sets one further out than the last): the deadline timer stays armed at the earliest time
// asked since it last fired, and when it fires early it re-arms itself for the current one.
class Waker {
 public:
  explicit Waker(const asio::any_io_executor& executor)
      : event_(executor), deadline_(executor), alive_(std::make_shared<char>()) {}
  void notify();
  asio::awaitable<void> wait_until(int64_t deadline);
  // Drops the armed deadline timer (it would keep the event loop running until it fires).
  void cancel_timer();
  // Without waiting: runs `hook` once when `deadline` passes (at once if it has), unless
  // clear_due() comes first. For a coroutine that awaits something else meanwhile.
  void call_at(int64_t deadline, std::function<void()> hook);
  void clear_due();

 private:
  void arm(int64_t at);
  void on_deadline_timer(uint64_t gen);

  asio::steady_timer event_;     // waited on without expiry: notify() cancels the wait
  asio::steady_timer deadline_;  // armed lazily, see above
  std::shared_ptr<char> alive_;  // the deadline timer's handler may run after destruction
  std::function<void()> hook_;   // call_at's
  int64_t due_ = kNever;         // the deadline of the wait (or of call_at) in progress
  int64_t armed_at_ = kNever;
  uint64_t gen_ = 0;
  bool pending_ = false;
};

// Log lines are written in batches, as a buffered access log is: one write per this many
// milliseconds (or per this many bytes) instead of one per request.
inline constexpr int64_t kLogFlushMs = 50;
inline constexpr size_t kLogFlushBytes = 64u << 10;

class Host {
 public:
  Host(asio::io_context& io, Gateway& gw, UpstreamClient& upstream);

  asio::io_context& io() { return io_; }
  Gateway& gw() { return gw_; }
  UpstreamClient& upstream() { return upstream_; }
  // The state store's connection (STATE_STORE=redis), else nullptr.
  RedisClient* store() { return store_; }
  void set_store(RedisClient* store) { store_ = store; }

  // Collects what the gateway has for the host (gw.poll): log lines, batched (written within
  // kLogFlushMs, or at once when kLogFlushBytes are pending); a wake-up for the exchanges that
  // wait for a credential when something changed; jobs, started; and a timer for the next
  // poll. Call it when a step says `poll`, after finish(), after a host log line.
  void poll();
  void after_step(const Step& step) {
    if (step.poll) poll();
  }
  // Writes the pending log lines now.
  void flush_logs();

  // Exchanges in Action::kWait register here to be woken by changes.
  void add_waiter(Waker* w) { waiters_.insert(w); }
  void remove_waiter(Waker* w) { waiters_.erase(w); }

  bool stopping() const { return stopping_; }
  // No more jobs and no more poll timer (shutdown).
  void stop();

 private:
  asio::io_context& io_;
  Gateway& gw_;
  UpstreamClient& upstream_;
  RedisClient* store_ = nullptr;
  std::unordered_set<Waker*> waiters_;
  Waker poll_timer_;
  asio::steady_timer log_timer_;
  std::string logs_;
  bool flush_armed_ = false;
  bool stopping_ = false;
};

// Performs one job of a poll (a guest token fetch, a state-store call) and reports it with
// gw.on_job_done().
void start_job(Host& host, Job job);

}  // namespace zproxy::native
