#pragma once
// The upstream HTTP/1.1 client: http:// in the clear, https:// over OpenSSL with certificate
// and host name verification (system CAs plus UPSTREAM_CA_FILE), HTTPS_PROXY through an HTTP
// CONNECT tunnel (NO_PROXY honoured), and a small cache of idle keep-alive connections.
// Always asks for `Accept-Encoding: identity`. Beast stays inside upstream_client.cpp.
//
// One UpstreamCall performs one request: start(), then read_available() until end or error,
// waiting with wait_readable() whenever it says `wait`. Reads go through the thread's scratch
// buffer (host.h): everything the socket has, in one system call, parsed at once.
// cancel() closes its connection at once (a cancelled connection is never reused); every
// pending operation then completes with an error. Calls must not outlive their client.

#include <utility>  // before Asio (Boost 1.74)

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "config/config.h"
#include "core/upstream.h"

namespace zproxy::native {

namespace asio = boost::asio;

enum class CallError : uint8_t {
  kNone,
  kConnect,  // bad URL, DNS, TCP, proxy or TLS failure: no connection was made
  kReset,    // the connection failed after it was made (while sending or reading)
};

struct HeadResult {
  CallError error = CallError::kNone;
  int status = 0;
};

// What read_available() found. `data` (body bytes, decoded) lives in the thread's scratch
// buffer: valid until the next read of any connection on this thread.
struct ReadResult {
  CallError error = CallError::kNone;
  bool end = false;   // the body ended (possibly together with `data`)
  bool wait = false;  // nothing more to read now: wait_readable() before the next call
  std::string_view data;
};

class UpstreamCall {
 public:
  virtual ~UpstreamCall() = default;
  // Connects (or reuses an idle connection), sends `request` and reads the response head.
  // `on_connected` (may be empty) runs once the TCP, proxy and TLS steps are done; it must live
  // until start() completes. `connect_timeout_ms` bounds those steps.
  virtual asio::awaitable<HeadResult> start(UpstreamRequest&& request, int64_t connect_timeout_ms,
                                            const std::function<void()>& on_connected) = 0;
  // Without waiting: the body bytes buffered and readable now (usually the whole body of an
  // answer that arrived at once comes with its head). A body read to its end returns the
  // connection to the idle cache when it can be reused.
  virtual ReadResult read_available() = 0;
  // Returns once the connection has bytes (or an error or end) to read, or after
  // interrupt_wait(). Interrupting loses nothing: no byte was read.
  virtual asio::awaitable<void> wait_readable() = 0;
  // Runs `hook` once, just before the call first waits for the network (a connect, a write the
  // socket did not take, a readability wait); never when the answer came without waiting.
  virtual void on_first_wait(std::function<void()> hook) = 0;
  virtual void interrupt_wait() = 0;
  virtual void cancel() = 0;
  // cancel() after `ms` milliseconds unless the call was destroyed first.
  virtual void cancel_after(int64_t ms) = 0;
};

class UpstreamClient {
 public:
  virtual ~UpstreamClient() = default;
  // Errors (kInvalidConfig) name the setting: UPSTREAM_CA_FILE or HTTPS_PROXY.
  static Result<std::unique_ptr<UpstreamClient>> create(asio::io_context& io, const Config& config);
  virtual std::shared_ptr<UpstreamCall> make_call() = 0;
};

}  // namespace zproxy::native
