#include "upstream_client.h"
#include "core/ascii.h"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "host.h"
#include "url.h"

namespace zproxy::native {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr uint32_t kMaxHeaderBytes = 64 * 1024;  // upstream heads (CDN cookies can be large)
constexpr size_t kProxyHeadLimit = 16 * 1024;
constexpr int64_t kIdleMaxMs = 30000;   // idle connections older than this are dropped
constexpr int64_t kFreshIdleMs = 1000;  // idle shorter than this: reused without a check
// Idle connections kept: as many as calls ran at once (the cache never holds more than that),
// up to these. A cache smaller than the concurrency closes connections as they come back and
// opens new ones (resolve, connect, close) for later requests: with 16 per upstream, a burst of
// 32 clients opened a connection on one request in eight, about a tenth of the proxy's CPU.
constexpr size_t kIdlePerKey = 512;
constexpr size_t kIdleTotal = 1024;

HeadResult head_error(CallError e) {
  HeadResult r;
  r.error = e;
  return r;
}

auto awaitable_ec(error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

// One live connection: a TCP stream, wrapped in TLS for https. Exactly one of plain/tls is set.
// The branches on `tls` below are spelled out rather than hidden in a generic lambda: see the
// coroutine rules in host.h.
struct Conn {
  std::string key;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  int64_t idle_since = 0;

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

// A connection that sat idle is reusable when young enough and silent (no EOF, no stray bytes).
bool reusable(Conn& c, int64_t now) {
  if (now - c.idle_since > kIdleMaxMs) return false;
  // A connection back in the cache for less than this cannot have met a server's keep-alive
  // timeout; skipping the check saves a system call per request under load. Should the server
  // have closed it anyway, the request goes once more over a fresh connection (start()).
  if (now - c.idle_since < kFreshIdleMs) return true;
  pollfd p{c.tcp().socket().native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

bool safe_header(std::string_view name, std::string_view value) {
  if (!is_http_token(name)) return false;
  for (std::string_view s : {name, value}) {
    for (char c : s) {
      if (c == '\r' || c == '\n' || c == '\0') return false;
    }
  }
  // The host owns framing, the target host and the encoding.
  for (std::string_view own : {"host", "content-length", "transfer-encoding", "connection",
                               "accept-encoding", "keep-alive", "te", "upgrade"}) {
    if (iequals(name, own)) return false;
  }
  return true;
}

// The request as it goes on the wire (head and body leave in one gathered send).
struct WireRequest {
  std::string head;
  std::string body;

  std::array<asio::const_buffer, 2> buffers(size_t skip) const {
    const size_t h = std::min(skip, head.size());
    return {asio::buffer(head.data() + h, head.size() - h),
            asio::buffer(body.data() + (skip - h), body.size() - (skip - h))};
  }
  size_t size() const { return head.size() + body.size(); }
};

WireRequest build_request(UpstreamRequest r, const Url& url) {
  const std::string_view method = r.method.empty() ? std::string_view("GET") : r.method;
  std::string out;
  size_t size = method.size() + url.target.size() + 96;
  for (const Header& h : r.headers) size += h.name.size() + h.value.size() + 4;
  out.reserve(size);
  out.append(method).append(" ").append(url.target).append(" HTTP/1.1\r\nHost: ");
  out.append(host_header(url)).append("\r\n");
  for (const Header& h : r.headers) {
    if (safe_header(h.name, h.value))
      out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  out.append("Accept-Encoding: identity\r\n");
  if (!r.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    out.append("Content-Length: ").append(std::to_string(r.body.size())).append("\r\n");
  }
  out.append("\r\n");
  return WireRequest{std::move(out), std::move(r.body)};
}

// A verifying TLS client context: system CAs plus `ca_file` (checked at start-up) if set.
ssl::context make_tls_context(const std::string& ca_file) {
  ssl::context ctx(ssl::context::tls_client);
  error_code ec;
  ctx.set_default_verify_paths(ec);  // no system bundle is not fatal: UPSTREAM_CA_FILE may do
  if (!ca_file.empty()) ctx.load_verify_file(ca_file, ec);
  ctx.set_verify_mode(ssl::verify_peer, ec);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  return ctx;
}

// The response parser: Beast's HTTP/1.1 grammar (framing, chunks, limits, keep-alive) without
// a message. Nothing reads an upstream answer's header fields, so none are stored (Beast's own
// parser allocates one node per field); the status is kept, and body bytes go straight to the
// place set with output() (as buffer_body would take them: when it is full, put() stops with
// http::error::need_buffer).
class ResponseParser final : public http::basic_parser<false> {
 public:
  int status() const { return status_; }
  // Body bytes go to [at, at + room) from the next put() on.
  void output(char* at, size_t room) {
    out_ = at;
    room_ = room;
  }
  size_t room() const { return room_; }

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, error_code&) override { status_ = code; }
  void on_field_impl(http::field, beast::string_view, beast::string_view, error_code&) override {}
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  size_t on_body_impl(beast::string_view body, error_code& ec) override { return take(body, ec); }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code& ec) override {
    return take(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  size_t take(beast::string_view body, error_code& ec) {
    const size_t n = std::min(room_, body.size());
    if (n > 0) std::memcpy(out_, body.data(), n);
    out_ += n;
    room_ -= n;
    if (n < body.size()) ec = http::error::need_buffer;
    return n;
  }

  int status_ = 0;
  char* out_ = nullptr;
  size_t room_ = 0;
};

class ClientImpl;

ReadResult reset_result() {
  ReadResult r;
  r.error = CallError::kReset;
  return r;
}

bool would_block(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

class CallImpl final : public UpstreamCall,
                       public ScratchHolder,
                       public std::enable_shared_from_this<CallImpl> {
 public:
  explicit CallImpl(ClientImpl& client);
  ~CallImpl() override;

  asio::awaitable<HeadResult> start(UpstreamRequest&& request, int64_t connect_timeout_ms,
                                    const std::function<void()>& on_connected) override;
  ReadResult read_available() override;
  asio::awaitable<void> wait_readable() override;
  void on_first_wait(std::function<void()> hook) override { on_wait_ = std::move(hook); }
  void interrupt_wait() override;
  void cancel() override;
  void cancel_after(int64_t ms) override;
  void spill() override;

 private:
  asio::awaitable<bool> connect(const Url& url, int64_t timeout_ms);
  asio::awaitable<bool> tunnel(const Url& url);
  asio::awaitable<bool> handshake(const Url& url);
  asio::awaitable<HeadResult> send_and_read_head(const WireRequest& req);
  asio::awaitable<bool> read_head();
  void new_parser();
  // The unparsed bytes at the start of the scratch buffer's `in`, which this call then holds.
  char* gather();
  // Reads what the connection has now, after the unparsed bytes. false: EOF or an error (`ec`).
  bool fill(error_code& ec);
  // Feeds the unparsed bytes to the parser; decoded body bytes go to the scratch buffer's
  // `out` from `out_len` on.
  void parse(size_t& out_len, error_code& ec);
  void let_go();  // holds nothing in the scratch buffer any more
  size_t unparsed() const { return holding_ ? held_end_ - held_begin_ : tail_.size(); }
  void release();
  void close();

  ClientImpl& client_;
  std::unique_ptr<tcp::resolver> resolver_;      // only for new connections
  std::unique_ptr<asio::steady_timer> timeout_;  // cancel_after's (token fetches only)
  std::unique_ptr<Conn> conn_;
  std::optional<ResponseParser> parser_;
  std::string tail_;       // unparsed bytes, when not held in the scratch buffer
  size_t held_begin_ = 0;  // the unparsed bytes in the scratch buffer, while holding_
  size_t held_end_ = 0;
  bool holding_ = false;
  bool drained_ = false;           // the last read found the socket empty: wait before reading
  std::function<void()> on_wait_;  // on_first_wait's
  void announce_wait() {
    if (!on_wait_) return;
    const std::function<void()> hook = std::move(on_wait_);
    on_wait_ = nullptr;
    hook();
  }
  bool cancelled_ = false;
};

class ClientImpl final : public UpstreamClient {
 public:
  ClientImpl(asio::io_context& io, std::string ca_file, std::optional<ProxySetting> proxy,
             NoProxy no_proxy)
      : io_(io),
        ca_file_(std::move(ca_file)),
        proxy_(std::move(proxy)),
        no_proxy_(std::move(no_proxy)) {}

  std::shared_ptr<UpstreamCall> make_call() override { return std::make_shared<CallImpl>(*this); }

  asio::io_context& io() { return io_; }
  // Built on first use: loading the system CA bundle costs tens of milliseconds and about a
  // megabyte, which a plain-HTTP deployment (or the first /healthz) should not wait for.
  ssl::context& ssl_context() {
    if (!ctx_) ctx_.emplace(make_tls_context(ca_file_));
    return *ctx_;
  }
  // The proxy to tunnel through for `url`, or nullptr (only https:// goes through it).
  const ProxySetting* proxy_for(const Url& url) const {
    return proxy_ && url.tls && !no_proxy_.matches(url.host) ? &*proxy_ : nullptr;
  }

  // Most recently used first: the warmest connection is the likeliest to still be open.
  std::unique_ptr<Conn> take_idle(const std::string& key) {
    const auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    std::vector<std::unique_ptr<Conn>>& list = it->second;
    const int64_t now = now_ms();
    while (!list.empty()) {
      std::unique_ptr<Conn> c = std::move(list.back());
      list.pop_back();
      --idle_count_;
      if (reusable(*c, now)) return c;
    }
    return nullptr;
  }

  void put_idle(std::unique_ptr<Conn> c) {
    const int64_t now = now_ms();
    drop_expired(now);
    std::vector<std::unique_ptr<Conn>>& list = idle_[c->key];
    if (list.size() >= kIdlePerKey) {  // the coldest goes
      list.erase(list.begin());
      --idle_count_;
    }
    if (idle_count_ >= kIdleTotal) return;  // c closes here
    c->idle_since = now;
    list.push_back(std::move(c));
    ++idle_count_;
  }

 private:
  // Each list is in the order connections came back, so the expired ones lead it.
  void drop_expired(int64_t now) {
    for (auto& [key, list] : idle_) {
      size_t n = 0;
      while (n < list.size() && now - list[n]->idle_since > kIdleMaxMs) ++n;
      if (n == 0) continue;
      list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(n));
      idle_count_ -= n;
    }
  }

  asio::io_context& io_;
  std::string ca_file_;
  std::optional<ssl::context> ctx_;
  std::optional<ProxySetting> proxy_;
  NoProxy no_proxy_;
  // Per connection key ("http://host:port"), least recently returned first.
  std::map<std::string, std::vector<std::unique_ptr<Conn>>, std::less<>> idle_;
  size_t idle_count_ = 0;
};

CallImpl::CallImpl(ClientImpl& client) : client_(client) {}

CallImpl::~CallImpl() {
  let_go();
  close();
}

std::string conn_key(const Url& url) {
  return (url.tls ? "https://" : "http://") + url.host + ":" + url.port;
}

asio::awaitable<HeadResult> CallImpl::start(UpstreamRequest&& request, int64_t connect_timeout_ms,
                                            const std::function<void()>& on_connected) {
  auto self = shared_from_this();  // alive until this coroutine ends, whatever the caller does
  const std::optional<Url> url = parse_url(request.url);
  if (!url) co_return head_error(CallError::kConnect);
  const WireRequest req = build_request(std::move(request), *url);
  const std::string key = conn_key(*url);
  bool notified = false;
  for (int round = 0; round < 2 && !cancelled_; ++round) {
    conn_ = round == 0 ? client_.take_idle(key) : nullptr;
    const bool reused = conn_ != nullptr;
    if (!reused) {
      announce_wait();
      const bool connected = co_await connect(*url, connect_timeout_ms);
      if (!connected) co_return head_error(CallError::kConnect);
      conn_->key = key;
    }
    if (!notified && on_connected) on_connected();
    notified = true;
    HeadResult head = co_await send_and_read_head(req);
    // A reused connection the server had already closed fails before any response byte:
    // the request then goes once more over a fresh connection.
    if (head.error == CallError::kNone || !reused || cancelled_ || parser_->got_some() ||
        unparsed() > 0) {
      co_return head;
    }
    close();
  }
  co_return head_error(CallError::kReset);
}

asio::awaitable<bool> CallImpl::connect(const Url& url, int64_t timeout_ms) {
  const ProxySetting* proxy = client_.proxy_for(url);
  error_code ec;
  const std::string& host = proxy ? proxy->host : url.host;
  const std::string& port = proxy ? proxy->port : url.port;
  resolver_ = std::make_unique<tcp::resolver>(client_.io());
  const auto endpoints = co_await resolver_->async_resolve(host, port, awaitable_ec(ec));
  if (ec || cancelled_) co_return false;
  conn_ = std::make_unique<Conn>();
  conn_->plain = std::make_unique<beast::tcp_stream>(client_.io());
  conn_->plain->expires_after(std::chrono::milliseconds(timeout_ms));
  co_await conn_->plain->async_connect(endpoints, awaitable_ec(ec));
  if (ec || cancelled_) co_return false;
  conn_->plain->socket().set_option(tcp::no_delay(true), ec);
  conn_->plain->socket().non_blocking(true, ec);
  if (proxy) {
    const bool tunnelled = co_await tunnel(url);
    if (!tunnelled) co_return false;
  }
  if (url.tls) {
    const bool secured = co_await handshake(url);
    if (!secured) co_return false;
  }
  conn_->tcp().expires_never();
  co_return true;
}

// HTTP CONNECT through the proxy; the tunnel then carries the TLS session end to end.
asio::awaitable<bool> CallImpl::tunnel(const Url& url) {
  const ProxySetting& proxy = *client_.proxy_for(url);
  const bool v6 = url.host.find(':') != std::string::npos;
  const std::string authority = (v6 ? "[" + url.host + "]" : url.host) + ":" + url.port;
  std::string req = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
  if (!proxy.authorization.empty()) req += "Proxy-Authorization: " + proxy.authorization + "\r\n";
  req += "\r\n";
  error_code ec;
  co_await asio::async_write(*conn_->plain, asio::buffer(req), awaitable_ec(ec));
  if (ec || cancelled_) co_return false;
  std::string head;
  const size_t n = co_await asio::async_read_until(
      *conn_->plain, asio::dynamic_buffer(head, kProxyHeadLimit), "\r\n\r\n", awaitable_ec(ec));
  if (ec || cancelled_ || n != head.size()) co_return false;  // nothing may precede TLS
  // "HTTP/1.x 2xx ..."
  co_return head.size() > 12 && head.compare(0, 7, "HTTP/1.") == 0 && head[9] == '2';
}

asio::awaitable<bool> CallImpl::handshake(const Url& url) {
  conn_->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*conn_->plain),
                                                                      client_.ssl_context());
  conn_->plain.reset();
  SSL* ssl_handle = conn_->tls->native_handle();
  if (!is_ip_literal(url.host)) SSL_set_tlsext_host_name(ssl_handle, url.host.c_str());
  error_code ec;
  conn_->tls->set_verify_mode(ssl::verify_peer, ec);
  conn_->tls->set_verify_callback(ssl::host_name_verification(url.host), ec);
  if (ec) co_return false;
  co_await conn_->tls->async_handshake(ssl::stream_base::client, awaitable_ec(ec));
  co_return !ec && !cancelled_;
}

asio::awaitable<HeadResult> CallImpl::send_and_read_head(const WireRequest& req) {
  new_parser();
  let_go();
  tail_.clear();
  error_code ec;
  if (conn_->tls) {
    co_await asio::async_write(*conn_->tls, req.buffers(0), awaitable_ec(ec));
  } else {
    // A direct send first (the socket is non-blocking): a request usually fits the socket
    // buffer, and then no asynchronous write (a trip through the event loop) is needed.
    const size_t sent = conn_->plain->socket().write_some(req.buffers(0), ec);
    if (would_block(ec)) ec = {};
    if (!ec && sent < req.size()) {
      announce_wait();
      co_await asio::async_write(*conn_->plain, req.buffers(sent), awaitable_ec(ec));
    }
  }
  if (ec || cancelled_) co_return head_error(CallError::kReset);
  // The other handlers ready in this loop turn run first, then one read looks: under load the
  // answer is usually there (see EarlyReads). Otherwise the readability wait follows.
  drained_ = true;
  EarlyReads& early = early_reads(EarlyReads::kUpstreamAnswer);
  if (early.worth_trying()) {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    if (cancelled_ || !conn_) co_return head_error(CallError::kReset);
    const size_t had = unparsed();
    const bool ok = fill(ec);
    early.outcome(!ok || unparsed() > had);
    if (!ok) co_return head_error(CallError::kReset);
  }
  while (true) {
    const bool got_head = co_await read_head();
    if (!got_head || cancelled_) co_return head_error(CallError::kReset);
    const int status = parser_->status();
    if (status >= 200 || status == 101) break;
    new_parser();  // an interim 1xx answer: the real head follows
  }
  HeadResult head;
  head.status = parser_->status();
  co_return head;
}

// Waits and reads until the parser has the whole head; body bytes that came with it stay
// unparsed for read_available().
asio::awaitable<bool> CallImpl::read_head() {
  while (true) {
    error_code ec;
    if (unparsed() > 0) {
      char* in = gather();
      const size_t used = parser_->put(asio::buffer(in + held_begin_, held_end_ - held_begin_), ec);
      held_begin_ += used;
      if (held_begin_ == held_end_) let_go();
      if (!ec && parser_->is_header_done()) co_return true;
      if (ec && ec != http::error::need_more) co_return false;
    }
    if (drained_) {
      co_await wait_readable();
      if (cancelled_ || !conn_) co_return false;
    }
    if (!fill(ec)) co_return false;
  }
}

void CallImpl::new_parser() {
  parser_.emplace();
  parser_->header_limit(kMaxHeaderBytes);
  // No limit: the core bounds what it keeps. (Not boost::none: Boost 1.74 compares a
  // Content-Length against the optional and an empty optional then refuses every body.)
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
}

char* CallImpl::gather() {
  ReadScratch& s = read_scratch();
  if (holding_ && s.holder == this) {
    if (held_begin_ > 0) {
      std::memmove(s.in.data(), s.in.data() + held_begin_, held_end_ - held_begin_);
      held_end_ -= held_begin_;
      held_begin_ = 0;
    }
    return s.in.data();
  }
  char* in = claim_scratch(this);
  std::memcpy(in, tail_.data(), tail_.size());
  held_begin_ = 0;
  held_end_ = tail_.size();
  holding_ = true;
  tail_.clear();
  if (tail_.capacity() > 4096) std::string().swap(tail_);  // an open stream stays small
  return in;
}

void CallImpl::spill() {
  if (!holding_) return;
  tail_.assign(read_scratch().in.data() + held_begin_, held_end_ - held_begin_);
  holding_ = false;
  held_begin_ = held_end_ = 0;
}

void CallImpl::let_go() {
  if (!holding_) return;
  ReadScratch& s = read_scratch();
  if (s.holder == this) s.holder = nullptr;
  holding_ = false;
  held_begin_ = held_end_ = 0;
}

bool CallImpl::fill(error_code& ec) {
  if (!conn_ || cancelled_) {
    ec = asio::error::operation_aborted;
    return false;
  }
  char* in = gather();
  const size_t room = kScratchBytes - held_end_;
  if (room == 0) {  // a head larger than the scratch buffer (the parser's limit is smaller)
    ec = http::error::header_limit;
    return false;
  }
  size_t got = 0;
  if (conn_->tls) {
    // TLS may hold decrypted records the socket no longer shows: read until it would block.
    while (got < room) {
      got += conn_->tls->read_some(asio::buffer(in + held_end_ + got, room - got), ec);
      if (ec) break;
    }
    drained_ = would_block(ec);
  } else {
    got = conn_->plain->socket().read_some(asio::buffer(in + held_end_, room), ec);
    drained_ = would_block(ec) || (!ec && got < room);
  }
  held_end_ += got;
  if (would_block(ec)) ec = {};
  if (held_begin_ == held_end_) let_go();
  return !ec;
}

void CallImpl::parse(size_t& out_len, error_code& ec) {
  char* out = read_scratch().out.data();
  while (!parser_->is_done() && unparsed() > 0 && out_len < kScratchBytes) {
    char* in = gather();
    parser_->output(out + out_len, kScratchBytes - out_len);
    const size_t used = parser_->put(asio::buffer(in + held_begin_, held_end_ - held_begin_), ec);
    held_begin_ += used;
    out_len = kScratchBytes - parser_->room();
    if (held_begin_ == held_end_) let_go();
    if (ec == http::error::need_more || ec == http::error::need_buffer) {
      ec = {};
      break;
    }
    if (ec || used == 0) break;
  }
}

ReadResult CallImpl::read_available() {
  if (!conn_ || !parser_ || cancelled_) return reset_result();
  size_t out_len = 0;
  error_code ec;
  parse(out_len, ec);
  if (!ec && out_len == 0 && !parser_->is_done() && !drained_) {
    if (fill(ec)) {
      parse(out_len, ec);
    } else if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
      // A close-delimited body ends here (TLS peers often close without close_notify);
      // any other body was cut short.
      ec = {};
      parser_->put_eof(ec);
    }
  }
  if (ec) return reset_result();
  ReadResult r;
  r.end = parser_->is_done();
  r.data = std::string_view(read_scratch().out.data(), out_len);
  // Unparsed bytes left with room in `out` are an incomplete piece: more input is needed.
  r.wait = !r.end && drained_ && out_len < kScratchBytes;
  if (r.end) release();
  return r;
}

asio::awaitable<void> CallImpl::wait_readable() {
  auto self = shared_from_this();
  if (!conn_ || cancelled_) co_return;
  announce_wait();
  if (!conn_ || cancelled_) co_return;
  error_code ec;
  co_await conn_->tcp().socket().async_wait(tcp::socket::wait_read, awaitable_ec(ec));
  if (!ec) drained_ = false;
}

void CallImpl::interrupt_wait() {
  if (!conn_) return;
  error_code ec;
  conn_->tcp().socket().cancel(ec);  // only the readability wait is pending
}

void CallImpl::release() {
  if (!conn_) return;
  const bool keep =
      !cancelled_ && parser_ && parser_->is_done() && parser_->keep_alive() && unparsed() == 0;
  if (keep) {
    client_.put_idle(std::move(conn_));
  } else {
    close();
  }
}

void CallImpl::close() {
  if (!conn_) return;
  error_code ec;
  conn_->tcp().socket().close(ec);
  conn_.reset();
}

void CallImpl::cancel() {
  cancelled_ = true;
  if (resolver_) resolver_->cancel();
  if (timeout_) timeout_->cancel();
  if (conn_) {
    error_code ec;
    conn_->tcp().socket().close(ec);  // pending operations complete with an error
  }
}

void CallImpl::cancel_after(int64_t ms) {
  if (!timeout_) timeout_ = std::make_unique<asio::steady_timer>(client_.io());
  timeout_->expires_after(std::chrono::milliseconds(ms));
  timeout_->async_wait([weak = weak_from_this()](const error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->cancel();
  });
}

}  // namespace

Result<std::unique_ptr<UpstreamClient>> UpstreamClient::create(asio::io_context& io,
                                                               const Config& config) {
  if (!config.upstream_ca_file.empty()) {
    // Only the operator's file is checked now (cheap); the system bundle loads on first use.
    ssl::context probe(ssl::context::tls_client);
    error_code ec;
    probe.load_verify_file(config.upstream_ca_file, ec);
    if (ec) {
      const std::string why = ::access(config.upstream_ca_file.c_str(), R_OK) != 0
                                  ? std::string(std::strerror(errno))
                                  : "no PEM certificate found in it";
      return make_error(Errc::kInvalidConfig, "UPSTREAM_CA_FILE could not be loaded (" +
                                                  config.upstream_ca_file + "): " + why);
    }
  }
  std::optional<ProxySetting> proxy;
  if (!config.https_proxy.empty()) {
    proxy = parse_proxy(config.https_proxy);
    if (!proxy) {
      return make_error(Errc::kInvalidConfig,
                        "HTTPS_PROXY must be http://[user:password@]host[:port]");
    }
  }
  NoProxy no_proxy(config.no_proxy);
  return std::unique_ptr<UpstreamClient>(std::make_unique<ClientImpl>(
      io, config.upstream_ca_file, std::move(proxy), std::move(no_proxy)));
}

}  // namespace zproxy::native
