#pragma once
// The whole request-handling logic of the proxy, sans-I/O. Both hosts (native server, Worker)
// are loops around these two classes: they move bytes, own the clocks and timers, perform the
// I/O the core asks for (upstream calls, token fetches) and write what the core produced.
// docs/architecture.md describes the loop; this header is its contract.
//
// Times: `now` is monotonic milliseconds (cooldowns, timeouts, durations); `wall` is Unix
// milliseconds (created fields, log timestamps, upstream reset times). Both come from the host.
//
// Host loop for one client request:
//
//   std::unique_ptr<Exchange> ex = gw.start(head, now, wall, entropy);
//   Step step = ex->step();
//   until step.action == kFinish:
//     if step.head_ready and the head was not sent: send status()/headers()
//     if step.output_bytes: write take_output()
//     if step.poll: handle gw.poll(now) (below)
//     a running upstream call whose attempt != step.attempt, or any call when the action is
//     kWait or kFinish, is aborted (its connection closed)
//     switch step.action:
//       kReadBody:     read <= body_limit() bytes; step = on_body(...) or on_body_too_large(...)
//       kFetch:        request = begin_fetch(); perform it; when connected
//                      step = on_upstream_connected(); on its head step = on_upstream_head()
//       kReadUpstream: read the running call's body: on_upstream_data / _end / _error
//       kWait:         wait until step.deadline or a poll that says `changed`
//     whenever now >= step.deadline: step = on_timer(now)
//     if the client goes away: step = on_client_gone(now)
//   gw.finish(std::move(ex), now, wall)
//
// Background work: gw.poll(now) returns the jobs to perform now (guest token fetches), the
// log lines produced since the last poll, the gateway's next deadline and whether waiting
// exchanges may proceed. Poll when a step says so, after finish(), after on_job_done(), and at
// the returned next_deadline.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"
#include "core/upstream.h"
#include "pool/credential_pool.h"  // kNever
#include "state/store.h"

namespace zproxy {

class Gateway;
struct ExchangeState;
struct GatewayCore;

// What a host can afford, passed in by each host (the core never asks which host it runs in).
struct HostLimits {
  // Beyond this many open exchanges, new chat requests get 429 with Retry-After (the clients
  // retry it): a Worker isolate serves every request from one 96 MiB Wasm memory. 0: no bound
  // (the native host sheds load at its connection limit instead).
  size_t max_open_exchanges = 0;
  // Token fetches in flight at once (a Worker's fetches are subrequests: one at a time).
  size_t max_parallel_token_fetches = 8;
  // The most of a token endpoint's answer a host reads (a token answer is < 1 KiB).
  size_t max_job_body_bytes = 1u << 20;
  // The defaults of the state-store settings this host has (docs/contract.md §14): its
  // shared backend (the other host's is a configuration error), the time an operation may
  // take, how often credential health is refreshed, and how long a client key's concurrency
  // lease lives unless renewed (a replica that dies cannot hold a slot for ever).
  StateBackend store_backend = StateBackend::kRedis;
  int64_t store_timeout_ms = 250;
  int64_t store_sync_ms = 1000;
  int64_t lease_ttl_ms = 30000;
  // How long a settlement may wait to share the next store call's round trip (one round trip
  // per limited request under load instead of two); 0: sent at once. Another replica sees the
  // freed slot and the tokens this much later. A Worker's calls are separate subrequests, so
  // holding one back saves nothing there.
  int64_t store_settle_hold_ms = 20;
};

inline constexpr HostLimits kNativeLimits{0,   8,    1u << 20, StateBackend::kRedis,
                                          250, 1000, 30000,    20};
inline constexpr HostLimits kWorkerLimits{256,  1,    1u << 20, StateBackend::kDurableObject,
                                          1000, 2000, 120000,   0};

enum class Action : uint8_t { kReadBody, kFetch, kReadUpstream, kWait, kFinish };

// What the host does next, returned by every event into an exchange.
struct Step {
  Action action = Action::kFinish;
  bool head_ready = false;    // status(), headers() and streaming() are final
  bool poll = false;          // the gateway has work for the host: call Gateway::poll
  uint32_t attempt = 0;       // the upstream attempt (1, 2, …) the exchange is on; 0: none yet
  size_t output_bytes = 0;    // take_output() would return this many bytes
  int64_t deadline = kNever;  // on_timer is due at this monotonic ms; kNever: no timer
};

// Network-level upstream failures the host reports (HTTP answers go to on_upstream_head).
enum class NetError : uint8_t {
  kConnect,  // DNS, TCP, TLS or proxy failure before a response
  kReset,    // connection lost while reading
};

// A client request head. Views are valid during the start() call only.
struct RequestHead {
  std::string_view method;
  std::string_view target;  // origin-form: path[?query]
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  int64_t content_length = -1;  // -1 when unknown (chunked)
};

// A complete answer: what a host sends when it must answer without an exchange.
struct Answer {
  int status = 0;
  std::vector<Header> headers;  // Content-Type, CORS, X-Request-Id, Retry-After
  std::string body;
};

class Exchange {
 public:
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // The current step, for the host's first decision after start().
  Step step() const;

  // kReadBody
  size_t body_limit() const;
  Step on_body(std::string_view body, int64_t now);
  Step on_body_too_large(int64_t now);

  // kFetch: hands over the upstream request to perform (moved out: a large body is not
  // copied) and acknowledges it; the exchange then waits for the events of that call
  // (connected, head, data, end, error) or for on_timer at the step's deadline.
  UpstreamRequest begin_fetch();
  // The connect timeout a host may enforce itself; the exchange also enforces it through the
  // step's deadline, so a host that only honours deadlines is correct.
  int64_t connect_timeout_ms() const;
  Step on_upstream_connected(int64_t now);
  Step on_upstream_head(int status, int64_t now);
  // kReadUpstream
  Step on_upstream_data(std::string_view bytes, int64_t now);
  Step on_upstream_end(int64_t now);
  Step on_upstream_error(NetError error, int64_t now);

  Step on_timer(int64_t now);
  Step on_client_gone(int64_t now);

  // The response head, once a step says head_ready.
  int status() const;
  const std::vector<Header>& headers() const;
  // true: a stream of unknown length (send chunked / flush each piece); false: the whole body
  // is in the output when the head becomes ready (send with Content-Length).
  bool streaming() const;
  std::string take_output();

 private:
  friend class Gateway;
  explicit Exchange(std::unique_ptr<ExchangeState> state);
  Step make_step(int64_t now);  // records `now` for step(), then reads the step
  void touch(int64_t now);      // the wall clock the answer reads
  std::unique_ptr<ExchangeState> s_;
};

// An HTTP request a host performs for the gateway, within `timeout_ms` in all (connect to the
// end of the body), reading at most `max_body_bytes` of the answer.
struct HttpFetch {
  UpstreamRequest request;
  int64_t timeout_ms = 0;
  size_t max_body_bytes = 0;
};

// A state-store operation (STATE_STORE redis or durable_object) the host performs within
// `timeout_ms`: natively the Lua script of redis_call(op) on the host's Redis connection; on
// the Worker a call of the Durable Object store_object_name(op) with store_op_json(op).
struct StoreCall {
  StoreOp op;
  int64_t timeout_ms = 0;
};

// Work the gateway hands to its host.
struct Job {
  uint64_t id = 0;
  std::variant<HttpFetch, StoreCall> work;
};

// The outcome of an HttpFetch. status 0: network failure or timeout. The body is valid during
// the on_job_done() call only.
struct HttpResult {
  int status = 0;
  std::string_view body;
};
// The outcome of a StoreCall: the decoded reply, or why there is none (`error`: a short
// reason such as "timeout", "connect", "auth", "reply"; never a password).
struct StoreResult {
  bool ok = false;
  StoreReply reply;
  std::string_view error;
};
using JobResult = std::variant<HttpResult, StoreResult>;

struct Poll {
  std::vector<Job> jobs;           // to perform now
  std::string logs;                // newline-terminated JSON lines produced since the last poll
  int64_t next_deadline = kNever;  // poll again at this monotonic ms
  bool changed = false;            // waiting exchanges may be able to proceed: give them on_timer
};

class Gateway {
 public:
  // Never fails: a bad configuration gives a gateway whose config_error() is set and which
  // answers every route but /healthz with 500 invalid_config (and /readyz with 503).
  Gateway(const EnvMap& env, const HostLimits& limits, int64_t now, int64_t wall);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  const Error* config_error() const;
  const Config& config() const;

  // `entropy` seeds the exchange's ids (32 bytes or more).
  std::unique_ptr<Exchange> start(const RequestHead& head, int64_t now, int64_t wall,
                                  std::span<const uint8_t> entropy);
  // Records metrics and the log line, then destroys the exchange. Poll afterwards.
  void finish(std::unique_ptr<Exchange> exchange, int64_t now, int64_t wall);

  Poll poll(int64_t now);
  void on_job_done(uint64_t id, const JobResult& result, int64_t now, int64_t wall);

  // Host-originated log line (start-up, shutdown, I/O trouble); request_id null. Delivered by
  // the next poll().
  void log(LogLevel level, std::string_view event, std::string_view message, int64_t wall);
  // Re-reads CLIENT_KEYS (and API_KEY) from `env`, e.g. on SIGHUP natively: the new set holds
  // at once for new requests (open ones keep their key); a bad set keeps the old one. Logs
  // client_keys_reloaded or client_keys_reload_failed.
  void reload_client_keys(const EnvMap& env, int64_t wall);

  // The answer a host gives on its own (unparsable request, overload, a failed core), in the
  // same shape as the exchange's error answers: the error body, Content-Type, the CORS headers
  // for any origin, Retry-After (429/503, when >= 0) and, unless `request_id` is empty,
  // X-Request-Id.
  Answer host_answer(int status, const Error& error, int64_t retry_after_s,
                     std::string_view request_id) const;

  // Native shutdown bookkeeping: /readyz answers 503 from now on (the host stops accepting).
  void begin_shutdown();
  size_t open_exchanges() const;
  // State-store calls handed out (or held) whose results have not come back: settlements a
  // host lets finish before it exits.
  size_t store_calls_pending() const;

 private:
  std::unique_ptr<GatewayCore> impl_;
};

}  // namespace zproxy
