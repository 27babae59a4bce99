#pragma once
// The whole request-handling logic of the proxy, sans-I/O. Both hosts (native server, Worker)
// are loops around these two classes: they move bytes, own the clocks and timers, perform the
// HTTP requests the core asks for, and write what the core produced.
//
// Times: `now` is monotonic milliseconds (cooldowns, timeouts, durations); `wall` is Unix
// milliseconds (created fields, log timestamps, upstream reset times). Both come from the host.
//
// Host loop for one client request (see native/ and worker/ for the two real ones):
//
//   Exchange& ex = gw.start(head, now, wall, entropy);
//   for (;;) {
//     switch (ex.next()) {
//       case Action::kReadBody:     read <= ex.body_limit() bytes; ex.on_body(...) or
//                                   ex.on_body_too_large(...); break;
//       case Action::kFetch:        abort any running upstream request; start
//                                   ex.upstream_request(); when connected call
//                                   ex.on_upstream_connected(); on response head
//                                   ex.on_upstream_head(...); break;
//       case Action::kReadUpstream: read upstream body; feed ex.on_upstream_data(...) and at
//                                   its end ex.on_upstream_end(); on a network error
//                                   ex.on_upstream_error(...); break;
//       case Action::kWait:         nothing until ex.deadline() or gw.version() changes;
//                                   then ex.on_timer(now); break;
//       case Action::kFinish:       flush, close the upstream if open, gw.finish(ex); return;
//     }
//     after every call: if (ex.head_ready() && !head_sent) send ex.status()/ex.headers();
//                       write ex.take_output();
//     whenever now >= ex.deadline(): ex.on_timer(now)
//     if the client goes away: ex.on_client_gone(now)
//   }
//
// Background work (guest token fetches): gw.take_jobs(now) returns requests to perform; report
// each with gw.on_job_done(). Call take_jobs after start() and finish(), after every
// on_job_done(), whenever gw.version() changes, and at gw.next_deadline(now). Log lines accumulate in gw and are drained with take_logs().

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/upstream.h"

namespace zproxy {

class Gateway;
struct ExchangeState;
struct GatewayCore;

enum class HostKind : uint8_t { kNative, kWorker };

// A Worker isolate serves many requests from one 96 MiB Wasm memory, and Cloudflare may send
// it any number at once: beyond this many open exchanges, new chat requests get 429 with
// Retry-After (the OpenAI clients retry it), so an isolate never takes on more streams than it
// can hold. The native host sheds load at its connection limit instead.
inline constexpr size_t kWorkerMaxOpenExchanges = 256;

enum class Action : uint8_t { kReadBody, kFetch, kReadUpstream, kWait, kFinish };

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

class Exchange {
 public:
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  Action next() const;

  // kReadBody
  size_t body_limit() const;
  void on_body(std::string_view body, int64_t now);
  void on_body_too_large(int64_t now);

  // kFetch: the request to perform (valid until the next call into this exchange). Calling
  // it acknowledges the fetch: next() becomes kReadUpstream, meaning "deliver the events of the
  // running upstream request (connected, head, data, end, error) or call on_timer at
  // deadline()". A later kFetch means: abort the running request and start this new one.
  const UpstreamRequest& upstream_request() const;
  // upstream_request() for a host that sends the request at once: moved out, so a large body
  // is not copied; the same acknowledgement. Call one of the two, once per kFetch.
  UpstreamRequest take_upstream_request();
  // Per-phase timeouts the host may enforce itself; the exchange also enforces them through
  // deadline()/on_timer(), so a host that only honours deadline() is correct.
  int64_t connect_timeout_ms() const;
  void on_upstream_connected(int64_t now);
  void on_upstream_head(int status, std::span<const std::pair<std::string_view, std::string_view>>
                                        headers, int64_t now);
  // kReadUpstream
  void on_upstream_data(std::string_view bytes, int64_t now);
  void on_upstream_end(int64_t now);
  void on_upstream_error(NetError error, int64_t now);

  // Timers and the client side.
  int64_t deadline() const;  // monotonic ms at which on_timer is due; kNever if none
  void on_timer(int64_t now);
  void on_client_gone(int64_t now);

  // Output. The head is ready once; the body may come in many pieces.
  bool head_ready() const;
  int status() const;
  const std::vector<Header>& headers() const;
  // true: a stream of unknown length (send chunked / flush each piece); false: the whole body
  // is in the output when the head becomes ready (send with Content-Length).
  bool streaming() const;
  std::string take_output();
  // Bytes produced but not yet taken (for backpressure decisions).
  size_t pending_output() const;

  std::string_view request_id() const;

 private:
  friend class Gateway;
  explicit Exchange(std::unique_ptr<ExchangeState> state);
  std::unique_ptr<ExchangeState> s_;
};

struct Job {
  uint64_t id = 0;
  UpstreamRequest request;
};

class Gateway {
 public:
  // Never fails: a bad configuration gives a gateway whose config_error() is set and which
  // answers every route but /healthz with 500 invalid_config (and /readyz with 503).
  Gateway(const EnvMap& env, HostKind host, int64_t now, int64_t wall);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  const Error* config_error() const;
  const Config& config() const;

  // The returned exchange lives until finish(). `entropy` seeds its ids (32 bytes or more).
  Exchange& start(const RequestHead& head, int64_t now, int64_t wall,
                  std::span<const uint8_t> entropy);
  // Records metrics and the log line, then destroys the exchange.
  void finish(Exchange& exchange, int64_t now, int64_t wall);

  // Background jobs (token fetches) to perform now.
  std::vector<Job> take_jobs(int64_t now);
  // take_jobs(now) would return at least one job: lets a host skip waking its job loop.
  bool jobs_due(int64_t now) const;
  // status 0: network failure or timeout.
  void on_job_done(uint64_t id, int status, std::string_view body, int64_t now, int64_t wall);
  int64_t next_deadline(int64_t now) const;
  // Changes whenever a waiting exchange may be able to proceed.
  uint64_t version() const;

  // Newline-terminated JSON log lines produced since the last call.
  std::string take_logs();
  // The size of what take_logs() would return.
  size_t pending_log_bytes() const;
  // Host-originated log line (start-up, shutdown, I/O trouble); request_id null.
  void log(LogLevel level, std::string_view event, std::string_view message, int64_t wall);

  // Native shutdown bookkeeping: /readyz answers 503 from now on (the host stops accepting).
  void begin_shutdown();
  size_t open_exchanges() const;

 private:
  std::unique_ptr<GatewayCore> impl_;
};

}  // namespace zproxy
