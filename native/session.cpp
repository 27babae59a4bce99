#include "session.h"
#include "core/ascii.h"

#include <sys/socket.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <span>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "exchange_driver.h"
#include "head_check.h"

namespace zproxy::native {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr uint32_t kMaxHeaderBytes = 16 * 1024;
constexpr size_t kMaxTargetBytes = 8 * 1024;
constexpr size_t kReadSize = 64 * 1024;                   // most bytes one read of a request takes
constexpr auto kLingerTimeout = std::chrono::seconds(2);  // draining an unread body at close
constexpr size_t kLingerBytes = 64u << 20;
// A client that takes no bytes for STREAM_IDLE_TIMEOUT_MS (at least this) is gone.
constexpr int64_t kMinWriteTimeoutMs = 30000;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kChunkEnd = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
constexpr std::string_view kChunkEndAndLast = "\r\n0\r\n\r\n";

int64_t ms(std::chrono::milliseconds d) {
  return d.count();
}

auto awaitable_ec(error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

// Beast's string_view as std::string_view (one type when BOOST_BEAST_USE_STD_STRING_VIEW).
template <class S>
std::string_view sv(const S& s) {
  return {s.data(), s.size()};
}

bool status_has_body(int status) {
  return status >= 200 && status != 204 && status != 304;
}

// The chunk-size line of a chunk of `size` bytes ("2a\r\n"), in `buf`.
std::string_view chunk_size_line(char (&buf)[24], size_t size) {
  const int n = std::snprintf(buf, sizeof buf, "%zx\r\n", size);
  return {buf, static_cast<size_t>(n)};
}

// What the io deadline does when it passes.
enum class IoExpiry : uint8_t {
  kClose,   // close the socket: whatever waits on it fails
  kCancel,  // cancel the pending read; the reader answers (408) and closes
};

// Where reading a request's head or body stands.
enum class ReadState : uint8_t {
  kMore,          // the head is incomplete: read on
  kDone,          // the head is complete
  kGone,          // the client left or the connection was closed here: nothing to answer
  kIdle,          // no request began within the idle timeout: close without an answer
  kTimedOut,      // not complete within CLIENT_REQUEST_TIMEOUT_MS: 408
  kMalformed,     // the parser refused the head or the body: 400
  kFolded,        // a folded header line: 400
  kHeadTooLarge,  // 431
};

// Is `ec` the parser rejecting the bytes (as opposed to the connection ending)?
bool would_block(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

bool is_parse_error(const error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message &&
         ec != http::error::need_more;
}

class HttpSession final : public Session,
                          public ClientSide,
                          public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Host& host, Sessions& sessions, tcp::socket socket)
      : host_(host),
        sessions_(sessions),
        accepted_at_(now_ms()),
        stream_(std::move(socket)),
        io_timer_(stream_.get_executor()),
        driver_(host, *this, stream_.get_executor()) {
    sessions_.open.insert(this);
    error_code ec;
    stream_.non_blocking(true, ec);  // write() tries a direct send first
  }
  ~HttpSession() override { sessions_.open.erase(this); }

  static asio::awaitable<void> run(std::shared_ptr<HttpSession> self);
  void close_if_idle() override;
  void close_now() override;

  asio::awaitable<BodyStatus> read_body(size_t limit, std::string& body) override;
  SendStatus send(Exchange& exchange, const Step& step, bool last) override;
  asio::awaitable<void> flush() override;
  void watch() override;

 private:
  // What one request/response needs beyond the exchange itself.
  struct RequestState {
    bool keep_alive = false;  // the client allows another request on this connection
    bool http10 = false;
    bool head_method = false;
    bool expect_continue = false;
    bool body_pending = false;  // the request has a body that was not read
    bool head_sent = false;
    bool chunked = false;
    bool close_after = false;
    bool write_failed = false;
    bool client_gone = false;
    bool pipelined = false;  // the next request arrived early: stop watching for EOF
  };

  asio::awaitable<void> serve_connection();
  asio::awaitable<bool> read_head();
  asio::awaitable<ReadState> read_head_bytes();
  ReadState parse_head();
  asio::awaitable<void> reject(ReadState why);
  asio::awaitable<bool> serve();
  asio::awaitable<void> close_connection();
  std::string response_head(const Exchange& exchange, size_t content_length);
  // Writes `a` then `b` (one gathered send when they fit).
  asio::awaitable<bool> write(std::string_view a, std::string_view b = {});
  // Writes the parts in order, in one gathered send when they fit; kPending: the rest waits
  // in pending_ for write_pending().
  SendStatus write_now(std::span<const std::string_view> parts);
  asio::awaitable<void> write_pending();
  SendStatus sent(SendStatus status);
  bool parse_buffered(error_code& ec);
  // The connection's I/O deadline (monotonic ms, kNever for none): when it passes, the socket
  // closes and whatever waits on it fails (kClose), or the pending read is cancelled and
  // io_expired_ set, so that the reader can still answer (kCancel). Each call starts a new
  // wait: io_expired_ is cleared. Moving it costs no timer operation: one timer is
  // armed at the earliest deadline set since it last fired and re-arms itself when it fires
  // early (see on_io_timer).
  void io_deadline(int64_t due, IoExpiry expiry = IoExpiry::kClose);
  void arm_io_timer(int64_t at);
  void on_io_timer(uint64_t gen);
  void lost_client();
  void receive(error_code& ec);
  asio::awaitable<void> await_readable();
  void stop_watch();
  void wait_readable(uint64_t gen);
  void on_readable(uint64_t gen, const error_code& ec);

  Host& host_;
  Sessions& sessions_;
  const int64_t accepted_at_;  // monotonic ms
  tcp::socket stream_;
  asio::steady_timer io_timer_;
  int64_t io_due_ = kNever;
  IoExpiry io_expiry_ = IoExpiry::kClose;
  bool io_expired_ = false;  // the deadline cancelled the pending read (until the next one)
  int64_t io_armed_at_ = kNever;
  uint64_t io_timer_gen_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  ExchangeDriver driver_;
  RequestState rq_;
  // The current request's deadline for its head and body (monotonic ms; kNever before its
  // first byte, or when CLIENT_REQUEST_TIMEOUT_MS is 0).
  int64_t request_due_ = kNever;
  size_t fold_scan_from_ = 0;  // scan_for_fold's position in buffer_
  bool fold_scan_done_ = false;
  bool first_request_ = true;
  bool idle_ = true;
  bool closed_ = false;
  uint64_t watch_gen_ = 0;
  bool watching_ = false;
  bool maybe_readable_ = true;  // a read may find bytes: try before waiting
  // The completion of await_readable(), called by the watch (type-erased: the handler type
  // belongs to Asio).
  struct Resume {
    virtual ~Resume() = default;
    virtual void operator()() = 0;
  };
  template <class Handler>
  struct ResumeWith final : Resume {
    explicit ResumeWith(Handler&& h) : handler(std::move(h)) {}
    void operator()() override { std::move(handler)(); }
    Handler handler;
  };
  // Parks the handler of await_readable() in resume_ (a named initiation: see the coroutine
  // rules in host.h).
  struct Park {
    HttpSession* self;
    template <class Handler>
    void operator()(Handler&& h) const {
      self->resume_ = std::make_unique<ResumeWith<std::decay_t<Handler>>>(std::move(h));
    }
  };
  std::unique_ptr<Resume> resume_;
  // What send() writes: alive until the next send(), so that a remainder can wait for the
  // socket (pending_) without a copy.
  std::string send_head_;
  std::string send_out_;
  char size_line_[24] = {};
  static constexpr size_t kMaxParts = 4;
  std::array<asio::const_buffer, kMaxParts> pending_;
  size_t pending_count_ = 0;
};

asio::awaitable<void> HttpSession::run(std::shared_ptr<HttpSession> self) {
  try {
    co_await self->serve_connection();
  } catch (const std::exception& e) {
    // Nothing here throws by design (errors are codes); if something does, the connection
    // ends rather than the process.
    self->host_.gw().log(LogLevel::kError, "host_error", e.what(), wall_ms());
    self->host_.poll();
    self->closed_ = true;
  }
  co_await self->close_connection();
}

asio::awaitable<void> HttpSession::serve_connection() {
  while (!sessions_.draining && !closed_) {
    const bool have_request = co_await read_head();
    if (!have_request) break;
    const bool keep_alive = co_await serve();
    if (!keep_alive) break;
  }
}

asio::awaitable<void> HttpSession::close_connection() {
  stop_watch();
  error_code ec;
  if (!closed_ && rq_.body_pending) {
    // Lingering close: drain what the client still sends, so the answer is not lost to a
    // reset caused by unread bytes.
    stream_.shutdown(tcp::socket::shutdown_send, ec);
    io_deadline(now_ms() + ms(kLingerTimeout));
    std::vector<char> sink(16384);
    size_t drained = 0;
    while (!ec && drained < kLingerBytes) {
      drained += co_await stream_.async_read_some(asio::buffer(sink), awaitable_ec(ec));
    }
  } else if (!closed_) {
    // Only what already arrived (a client cut at its deadline may still be sending): unread
    // bytes at close turn the FIN into a reset, which can destroy the answer in flight.
    char sink[4096];
    for (int i = 0; i < 16; ++i) {
      if (::recv(stream_.native_handle(), sink, sizeof sink, MSG_DONTWAIT) <= 0) break;
    }
  }
  io_deadline(kNever);
  ++io_timer_gen_;
  io_timer_.cancel();
  stream_.shutdown(tcp::socket::shutdown_both, ec);
  stream_.close(ec);
  closed_ = true;
}

asio::awaitable<bool> HttpSession::read_head() {
  rq_ = RequestState{};
  parser_.emplace();
  parser_->header_limit(kMaxHeaderBytes);
  // Beast checks Content-Length against the body limit as soon as the head is complete; the
  // exchange decides about the size (413) and read_body() sets its limit.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  fold_scan_from_ = 0;
  fold_scan_done_ = false;
  idle_ = true;
  const ReadState state = co_await read_head_bytes();
  idle_ = false;
  first_request_ = false;
  if (state == ReadState::kDone) co_return true;
  co_await reject(state);
  co_return false;
}

// Reads until the head is complete, within the deadline: before the request's first byte,
// CLIENT_IDLE_TIMEOUT_S after the previous answer; from its first byte (for a connection's
// first request: from accept), CLIENT_REQUEST_TIMEOUT_MS for the head and body together.
asio::awaitable<ReadState> HttpSession::read_head_bytes() {
  const Config& config = host_.gw().config();
  const int64_t timeout = config.client_request_timeout_ms;  // 0: none
  const int64_t waiting_since = first_request_ ? accepted_at_ : now_ms();
  const int64_t idle_due = waiting_since + config.client_idle_timeout_ms;
  request_due_ = first_request_ && timeout > 0 ? accepted_at_ + timeout : kNever;
  bool began = false;   // a byte of this request arrived
  bool looked = false;  // tried a read before any readability wait
  error_code ec;
  while (true) {
    if (buffer_.size() > 0) {
      if (!began && request_due_ == kNever && timeout > 0) request_due_ = now_ms() + timeout;
      began = true;
      const ReadState state = parse_head();
      if (state != ReadState::kMore) co_return state;
    }
    // Once the request's clock runs, only it counts (a first request's runs from accept).
    const int64_t due = began || request_due_ != kNever ? request_due_ : idle_due;
    io_deadline(due, IoExpiry::kCancel);
    // The watch of the previous exchange is still waiting for this request: one readability
    // wait per request, and then one read. Without a watch, the other handlers ready in this
    // loop turn may run first and then one read looks (see EarlyReads).
    bool looking = false;
    if (!maybe_readable_ && !watching_ && !looked &&
        early_reads(EarlyReads::kNextRequest).worth_trying()) {
      looked = looking = true;
      co_await asio::post(stream_.get_executor(), asio::use_awaitable);
      maybe_readable_ = true;
    }
    if (!maybe_readable_) co_await await_readable();
    const bool expired = io_expired_;
    receive(ec);  // fails when the deadline cancelled the wait
    if (looking) early_reads(EarlyReads::kNextRequest).outcome(!would_block(ec));
    io_deadline(kNever);
    if (closed_) co_return ReadState::kGone;
    if (!ec || would_block(ec)) continue;
    if (!expired) co_return ReadState::kGone;  // EOF or reset: the client left
    co_return request_due_ == kNever ? ReadState::kIdle : ReadState::kTimedOut;
  }
}

// Reads what the socket has now (non-blocking) through the thread's scratch buffer into
// buffer_ (which keeps only the unparsed bytes of this connection).
void HttpSession::receive(error_code& ec) {
  ec = {};
  if (io_expired_ || closed_) {
    ec = asio::error::operation_aborted;
    return;
  }
  char* in = claim_scratch(nullptr);
  const size_t n = stream_.read_some(asio::buffer(in, kReadSize), ec);
  maybe_readable_ = !ec && n == kReadSize;  // a short read drained the socket
  if (n > 0) {
    const auto space = buffer_.prepare(n);
    std::memcpy(space.data(), in, n);
    buffer_.commit(n);
  }
}

// Suspends until the client socket is readable (or failed, or the io deadline cancelled the
// wait), through the watch: an exchange's watch that is still waiting when the exchange ends
// becomes the wait for the next request.
asio::awaitable<void> HttpSession::await_readable() {
  if (!watching_) {
    watching_ = true;
    wait_readable(++watch_gen_);
  }
  const Park park{this};
  co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(park, asio::use_awaitable);
}

// Feeds what is buffered to the head parser, after looking for folded lines in it (the
// parser would join them).
ReadState HttpSession::parse_head() {
  if (!fold_scan_done_) {
    const std::string_view bytes(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    const FoldScan scan = scan_for_fold(bytes, fold_scan_from_);
    if (scan == FoldScan::kFold) return ReadState::kFolded;
    fold_scan_done_ = scan == FoldScan::kHeadEnd;
  }
  error_code ec;
  const size_t used = parser_->put(buffer_.data(), ec);
  buffer_.consume(used);
  fold_scan_from_ -= std::min(fold_scan_from_, used);
  if (ec == http::error::need_more) return ReadState::kMore;
  if (ec == http::error::header_limit) return ReadState::kHeadTooLarge;
  if (ec) return ReadState::kMalformed;
  return parser_->is_header_done() ? ReadState::kDone : ReadState::kMore;
}

// Answers a request that could not be read (408, 400, 431) and leaves the connection to
// close; a client that left or stayed idle gets nothing.
asio::awaitable<void> HttpSession::reject(ReadState why) {
  int status = 400;
  std::string_view message = "Malformed HTTP request";
  switch (why) {
    case ReadState::kTimedOut:
      status = 408;
      message = "The request did not arrive within CLIENT_REQUEST_TIMEOUT_MS";
      break;
    case ReadState::kHeadTooLarge:
      status = 431;
      message = "Request headers are too large";
      break;
    case ReadState::kFolded:
      message = "Malformed HTTP request: folded header line (obs-fold, RFC 9112 section 5.2)";
      break;
    case ReadState::kMalformed: break;
    default: co_return;
  }
  host_.gw().log(LogLevel::kDebug, "http_rejected", message, wall_ms());
  host_.poll();
  const std::string answer = host_error_response(host_.gw(), status, message);
  co_await write(answer);
}

asio::awaitable<bool> HttpSession::serve() {
  auto& msg = parser_->get();
  if (msg.target().size() > kMaxTargetBytes) {
    rq_.body_pending = true;
    const std::string answer = host_error_response(host_.gw(), 414, "Request URL is too long");
    co_await write(answer);
    co_return false;
  }
  RequestHead head;
  head.method = sv(msg.method_string());
  head.target = sv(msg.target());
  head.headers.reserve(16);
  for (const auto& f : msg) head.headers.emplace_back(sv(f.name_string()), sv(f.value()));
  const uint64_t length = parser_->content_length().value_or(0);
  head.content_length = parser_->chunked() ? -1 : static_cast<int64_t>(length);
  rq_.keep_alive = msg.keep_alive();
  rq_.http10 = msg.version() < 11;
  rq_.head_method = msg.method() == http::verb::head;
  rq_.expect_continue = !rq_.http10 && iequals(sv(msg[http::field::expect]), "100-continue");
  rq_.body_pending = parser_->chunked() || length > 0;
  const auto seed = entropy();
  std::unique_ptr<Exchange> exchange = host_.gw().start(head, now_ms(), wall_ms(), seed);
  co_await driver_.run(std::move(exchange));
  co_return rq_.head_sent && !rq_.close_after && !rq_.write_failed && !rq_.client_gone &&
      !sessions_.draining && !closed_;
}

asio::awaitable<BodyStatus> HttpSession::read_body(size_t limit, std::string& body) {
  auto& p = *parser_;
  const auto length = p.content_length();
  if (length && *length > limit) co_return BodyStatus::kTooLarge;  // before asking for it
  if (rq_.expect_continue && !p.is_done()) {
    const bool sent = co_await write(kContinue);
    if (!sent) co_return BodyStatus::kFailed;
  }
  p.body_limit(limit);
  error_code ec;
  // Usually the whole body came with the head: parse it here rather than through an
  // asynchronous read that would complete at once (a trip through the event loop).
  bool expired = false;
  if (!parse_buffered(ec)) {
    io_deadline(request_due_, IoExpiry::kCancel);
    co_await http::async_read(stream_, buffer_, p, awaitable_ec(ec));
    expired = io_expired_;
    io_deadline(kNever);
  }
  if (ec == http::error::body_limit) co_return BodyStatus::kTooLarge;
  if (ec) {
    rq_.client_gone = true;  // cut, timed out or malformed: the connection is beyond use
    ReadState why = ReadState::kGone;
    if (!closed_ && expired) {
      why = ReadState::kTimedOut;
      rq_.body_pending = false;  // cut at the deadline: no lingering for this client
    } else if (!closed_ && is_parse_error(ec)) {
      why = ReadState::kMalformed;  // e.g. a chunk size that overflows 64 bits
    }
    co_await reject(why);
    co_return BodyStatus::kFailed;
  }
  rq_.body_pending = false;
  body.swap(p.get().body());
  co_return BodyStatus::kRead;
}

// The head goes out once (with the whole body when not streaming); then what each step
// produced, as one chunk, in one send (the last chunk of the response with it when `last`).
// Nothing is read upstream meanwhile: the driver flushes what the socket did not take before
// it goes on, which is what slows upstream down to the client's pace.
SendStatus HttpSession::send(Exchange& exchange, const Step& step, bool last) {
  if (!step.head_ready) {
    if (last) rq_.close_after = true;  // nothing was answered (the client left)
    return SendStatus::kDone;
  }
  if (rq_.head_sent && step.output_bytes == 0 && !last) return SendStatus::kDone;
  send_out_ = step.output_bytes > 0 ? exchange.take_output() : std::string();
  if (rq_.write_failed) return sent(SendStatus::kDone);  // nobody to send it to
  const bool body_allowed = !rq_.head_method && status_has_body(exchange.status());
  send_head_.clear();
  if (!rq_.head_sent) {
    rq_.head_sent = true;
    send_head_ = response_head(exchange, send_out_.size());
    if (!rq_.chunked) {  // head and body in one gathered send, without copying the body
      if (!body_allowed) send_out_.clear();
      const std::array<std::string_view, 2> parts{send_head_, send_out_};
      return sent(write_now(parts));
    }
  } else if (!exchange.streaming()) {
    return sent(SendStatus::kDone);
  }
  if (!body_allowed) send_out_.clear();
  std::array<std::string_view, 4> parts{send_head_, {}, send_out_, {}};
  if (rq_.chunked && !send_out_.empty()) parts[1] = chunk_size_line(size_line_, send_out_.size());
  if (rq_.chunked && body_allowed) {
    if (last) {
      parts[3] = send_out_.empty() ? kLastChunk : kChunkEndAndLast;
    } else if (!send_out_.empty()) {
      parts[3] = kChunkEnd;
    }
  }
  return sent(write_now(parts));
}

asio::awaitable<void> HttpSession::flush() {
  co_await write_pending();
  sent(SendStatus::kDone);
}

// A written answer's memory is not kept until the next one (an idle connection holds none).
SendStatus HttpSession::sent(SendStatus status) {
  if (status == SendStatus::kDone) {
    std::string().swap(send_head_);
    std::string().swap(send_out_);
  }
  return status;
}

std::string HttpSession::response_head(const Exchange& exchange, size_t content_length) {
  const int status = exchange.status();
  const bool streaming = exchange.streaming();
  rq_.chunked = streaming && !rq_.http10;
  rq_.close_after =
      !rq_.keep_alive || rq_.body_pending || sessions_.draining || (streaming && !rq_.chunked);
  std::string h;
  h.reserve(512);
  append_response_head(h, status, exchange.headers());
  if (!streaming && status_has_body(status)) {
    h.append("Content-Length: ").append(std::to_string(content_length)).append("\r\n");
  } else if (rq_.chunked) {
    h += "Transfer-Encoding: chunked\r\n";
  }
  if (rq_.close_after) {
    h += "Connection: close\r\n";
  } else if (rq_.http10) {
    h += "Connection: keep-alive\r\n";
  }
  h += "\r\n";
  return h;
}

// `a` and `b` must stay alive until the write completes (callers pass named locals or
// constants).
asio::awaitable<bool> HttpSession::write(std::string_view a, std::string_view b) {
  if (rq_.write_failed || closed_) co_return false;
  const std::array<std::string_view, 2> parts{a, b};
  if (write_now(parts) == SendStatus::kPending) co_await write_pending();
  co_return !rq_.write_failed;
}

// A direct send first: most answers fit the socket buffer, and then no asynchronous write (no
// coroutine, no trip through the event loop) is needed. What the socket does not take is left
// in pending_ for write_pending(); the parts must stay alive until then.
SendStatus HttpSession::write_now(std::span<const std::string_view> parts) {
  pending_count_ = 0;
  if (rq_.write_failed || closed_) return SendStatus::kDone;
  std::array<asio::const_buffer, kMaxParts> bufs;
  size_t n = 0;
  size_t total = 0;
  for (std::string_view p : parts) {
    if (!p.empty() && n < kMaxParts) {
      bufs[n++] = asio::buffer(p);
      total += p.size();
    }
  }
  if (total == 0) return SendStatus::kDone;
  error_code ec;
  const std::span<const asio::const_buffer> all(bufs.data(), n);
  size_t took = stream_.write_some(all, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
  if (ec) {
    rq_.write_failed = true;
    lost_client();
    return SendStatus::kDone;
  }
  if (took == total) return SendStatus::kDone;
  size_t first = 0;  // drop what left already
  while (took >= bufs[first].size()) took -= bufs[first++].size();
  bufs[first] += took;
  for (size_t i = first; i < n; ++i) pending_[pending_count_++] = bufs[i];
  return SendStatus::kPending;
}

// Writes what write_now() left, within the write timeout.
asio::awaitable<void> HttpSession::write_pending() {
  if (pending_count_ == 0) co_return;
  const std::span<const asio::const_buffer> rest(pending_.data(), pending_count_);
  const int64_t timeout =
      std::max<int64_t>(host_.gw().config().stream_idle_timeout_ms, kMinWriteTimeoutMs);
  error_code ec;
  io_deadline(now_ms() + timeout);
  co_await asio::async_write(stream_, rest, awaitable_ec(ec));
  io_deadline(kNever);
  pending_count_ = 0;
  if (!ec) co_return;
  rq_.write_failed = true;
  lost_client();
}

// Feeds the bytes already buffered to the body parser. true: the body is complete or the
// parser failed (`ec`); false: more bytes must be read.
bool HttpSession::parse_buffered(error_code& ec) {
  auto& p = *parser_;
  p.eager(true);
  while (!p.is_done() && buffer_.size() > 0) {
    const size_t used = p.put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec) return true;
    if (used == 0) return false;
  }
  return p.is_done();
}

void HttpSession::io_deadline(int64_t due, IoExpiry expiry) {
  io_due_ = due;
  io_expiry_ = expiry;
  io_expired_ = false;
  if (due != kNever && due < io_armed_at_) arm_io_timer(due);
}

void HttpSession::arm_io_timer(int64_t at) {
  io_armed_at_ = at;
  const uint64_t gen = ++io_timer_gen_;
  io_timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::milliseconds(at)));
  io_timer_.async_wait([weak = weak_from_this(), gen](const error_code&) {
    if (auto self = weak.lock()) self->on_io_timer(gen);
  });
}

void HttpSession::on_io_timer(uint64_t gen) {
  if (gen != io_timer_gen_) return;  // re-armed earlier meanwhile, or closed
  io_armed_at_ = kNever;
  if (io_due_ == kNever || closed_) return;
  if (now_ms() < io_due_) {
    arm_io_timer(io_due_);  // the deadline moved later since this timer was armed
    return;
  }
  io_due_ = kNever;
  error_code ec;
  if (io_expiry_ == IoExpiry::kCancel) {
    io_expired_ = true;
    stream_.cancel(ec);  // only a read is pending: its reader answers
    return;
  }
  // As a timed-out Beast stream would: close the socket; what waits on it fails.
  stream_.close(ec);
}

void HttpSession::lost_client() {
  rq_.client_gone = true;
  driver_.client_gone();
}

void HttpSession::watch() {
  if (watching_ || rq_.client_gone || rq_.pipelined || closed_) return;
  watching_ = true;
  wait_readable(++watch_gen_);
}

void HttpSession::stop_watch() {
  if (!watching_) return;
  ++watch_gen_;
  watching_ = false;
  error_code ec;
  stream_.cancel(ec);  // called only when no other operation is pending on it
}

// Waits for the client socket to become readable while the answer is produced: EOF or an
// error means the client went away; bytes mean it pipelined its next request. A plain
// completion handler, not a coroutine: no frame and no extra trip through the event loop.
void HttpSession::wait_readable(uint64_t gen) {
  stream_.async_wait(
      tcp::socket::wait_read,
      [self = shared_from_this(), gen](const error_code& ec) { self->on_readable(gen, ec); });
}

void HttpSession::on_readable(uint64_t gen, const error_code& ec) {
  if (watch_gen_ != gen) return;
  if (resume_) {  // the next request's read waits for this
    watching_ = false;
    maybe_readable_ = true;
    const std::unique_ptr<Resume> resume = std::move(resume_);
    (*resume)();
    return;
  }
  if (!ec) {
    char c;
    const ssize_t n = ::recv(stream_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      wait_readable(gen);
      return;
    }
    if (n > 0) {
      watching_ = false;
      rq_.pipelined = true;
      maybe_readable_ = true;
      return;
    }
  }
  watching_ = false;
  error_code ignored;
  stream_.cancel(ignored);  // a write stuck on a dead peer ends now
  lost_client();
}

void HttpSession::close_if_idle() {
  if (idle_ && parser_ && !parser_->got_some() && buffer_.size() == 0) close_now();
}

void HttpSession::close_now() {
  closed_ = true;
  error_code ec;
  stream_.close(ec);  // pending reads, writes and the watch complete with an error
  lost_client();
}

}  // namespace

void spawn_session(Host& host, Sessions& sessions, tcp::socket socket) {
  auto session = std::make_shared<HttpSession>(host, sessions, std::move(socket));
  asio::co_spawn(host.io(), HttpSession::run(std::move(session)), asio::detached);
}

}  // namespace zproxy::native
