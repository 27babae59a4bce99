#pragma once
// The host loop of gateway.h for one exchange: turns the exchange's Steps into body reads,
// upstream calls, timers and waits, and feeds every result back. The HTTP details of the
// client side stay behind ClientSide (implemented by the session); the upstream side is an
// UpstreamCall. Only the driver's own coroutine calls into the exchange: the client watch
// leaves its result here and wakes it. The fetch (connect, send, response head) and the
// upstream reads are awaited by the driver itself, with no task of their own: the client
// leaving or the deadline passing cancel the fetch (the exchange then hears of that instead
// of the call's error), or interrupt the wait for upstream bytes, which loses nothing.

#include <utility>  // before Asio (Boost 1.74)

#include <memory>
#include <optional>
#include <string>

#include "host.h"
#include "upstream_client.h"

namespace zproxy::native {

enum class BodyStatus : uint8_t {
  kRead,      // the whole body is in `body`
  kTooLarge,  // more than the limit: the exchange answers 413
  kFailed,    // the client left, stalled or sent a broken body
};

enum class SendStatus : uint8_t {
  kDone,     // nothing of it is left to write (written, nothing to write, or the client is gone)
  kPending,  // the socket took part of it: flush() before anything else
};

// The client connection as the driver needs it.
class ClientSide {
 public:
  virtual ~ClientSide() = default;
  // Reads the request body, at most `limit` bytes.
  virtual asio::awaitable<BodyStatus> read_body(size_t limit, std::string& body) = 0;
  // Writes what `step` announces, without waiting: the head once (when head_ready), then the
  // body pieces as they come (output_bytes), each in one send. `last`: the exchange is done;
  // end the response (with the last piece, in the same send).
  virtual SendStatus send(Exchange& exchange, const Step& step, bool last) = 0;
  // Writes what send() left (kPending), waiting for the socket.
  virtual asio::awaitable<void> flush() = 0;
  // From now until the exchange ends, report the client leaving through client_gone().
  virtual void watch() = 0;
};

class ExchangeDriver {
 public:
  ExchangeDriver(Host& host, ClientSide& client, const asio::any_io_executor& executor);

  // Drives `exchange` until Action::kFinish, then ends it with gw.finish().
  asio::awaitable<void> run(std::unique_ptr<Exchange> exchange);

  // The client went away or its connection failed; the exchange learns it at the next step.
  void client_gone();

 private:
  // The running upstream call and the head its fetch left for the driver.
  struct Upstream {
    std::shared_ptr<UpstreamCall> call;
    std::optional<HeadResult> head;
    bool wait = false;  // the call said: nothing to read until its socket is readable
  };

  asio::awaitable<void> read_body();
  bool deliver_events();
  void deliver_head(HeadResult head, int64_t now);
  void deliver_read(const ReadResult& result, int64_t now);
  // Every step goes through here: kept, shown to the host, and the upstream call that has no
  // future under it (another attempt, a wait, the end) aborted.
  void apply(const Step& step);
  asio::awaitable<void> fetch();
  void interrupt_fetch();
  asio::awaitable<void> read_upstream();
  void interrupt_read();
  void abort_upstream();
  int64_t timer_due() const;

  Host& host_;
  ClientSide& client_;
  asio::any_io_executor executor_;
  Waker waker_;
  std::unique_ptr<Exchange> ex_;
  Step step_;
  Upstream up_;
  uint32_t call_attempt_ = 0;  // the attempt the running upstream call belongs to
  uint64_t gen_ = 0;           // bumped whenever the upstream call changes; stale calls compare it
  bool gone_ = false;
  bool fetching_ = false;           // fetch() awaits the call
  bool fetch_interrupted_ = false;  // ... and it was cancelled for the client or the deadline
  bool reading_ = false;            // read_upstream() waits for the call's socket
  bool read_interrupted_ = false;   // ... and the wait was ended for the client or the deadline
  bool gone_reported_ = false;
  int64_t no_fire_before_ = 0;  // guards against a deadline that on_timer left in the past
};

}  // namespace zproxy::native
