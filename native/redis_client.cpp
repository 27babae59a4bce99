#include "redis_client.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "redis_resp.h"
#include "state/redis_ops.h"
#include "url.h"

namespace zproxy::native {
namespace {

namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr int64_t kBackoffMinMs = 100;
constexpr size_t kReadChunk = 16 * 1024;

// StoreResult::error views these.
constexpr std::string_view kTimeout = "timeout";
constexpr std::string_view kConnect = "connect";
constexpr std::string_view kTls = "tls";
constexpr std::string_view kAuth = "auth";
constexpr std::string_view kReply = "reply";

auto awaitable_ec(error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

// One connection. TLS wraps the TCP socket by reference, so closing `socket` ends both.
struct Link {
  explicit Link(asio::io_context& io) : resolver(io), socket(io) {}
  tcp::resolver resolver;
  tcp::socket socket;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  std::string out;  // commands not yet written
  bool writing = false;
  bool closed = false;
  std::string_view drop_reason = kConnect;  // for the calls still unanswered when it closes

  void close(std::string_view why = kConnect) {
    if (closed) return;
    closed = true;
    drop_reason = why.empty() ? kConnect : why;
    resolver.cancel();
    error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }
};

struct Pending {
  StoreOpKind kind = StoreOpKind::kUsage;
  RedisCall call;
  RedisClient::Done done;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool finished = false;
  bool by_text = false;  // sent again as EVAL after a NOSCRIPT
};
using PendingPtr = std::shared_ptr<Pending>;

class ClientImpl final : public RedisClient {
 public:
  ClientImpl(asio::io_context& io, RedisSettings s, std::optional<ssl::context> tls)
      : io_(io), s_(std::move(s)), tls_(std::move(tls)), backoff_(io), deadlines_(io) {}

  void start() override;
  void perform(const StoreCall& call, Done done) override;
  void stop() override;

 private:
  enum class Phase : uint8_t { kIdle, kConnecting, kReady, kBackoff, kStopped };

  asio::awaitable<void> run();
  // "" once connected, authenticated and the scripts loaded; else the reason.
  asio::awaitable<std::string_view> connect_once(Link& link, RespReader& reader);
  asio::awaitable<std::string_view> hello(Link& link, RespReader& reader);
  asio::awaitable<std::string_view> read_loop(Link& link, RespReader& reader);
  asio::awaitable<void> write_loop(std::shared_ptr<Link> link);
  // "" with the next reply in `out`; else the reason.
  asio::awaitable<std::string_view> next_reply(Link& link, RespReader& reader, RespValue& out);
  asio::awaitable<size_t> read_some(Link& link, error_code& ec);
  asio::awaitable<void> write_all(Link& link, const std::string& data, error_code& ec);

  void send(const PendingPtr& p);
  // Writes what send() queued, once per turn of the loop: the calls one poll hands over go
  // out in one system call, without a coroutine when the socket takes them at once.
  void flush(const std::shared_ptr<Link>& link);
  void on_reply(RespValue&& v);
  void on_timeout(const PendingPtr& p);
  // One timer for every call's timeout, armed at the earliest deadline asked since it last
  // fired (a later deadline costs no timer operation); on firing it times out what is due and
  // re-arms for the earliest deadline left.
  void arm(std::chrono::steady_clock::time_point at);
  void on_deadline();
  void finish(const PendingPtr& p, std::string_view error, StoreReply reply = {});
  void fail_all(std::string_view waiting_reason, std::string_view sent_reason);
  int64_t next_backoff_ms();

  asio::io_context& io_;
  RedisSettings s_;
  std::optional<ssl::context> tls_;
  asio::steady_timer backoff_;
  asio::steady_timer deadlines_;
  std::chrono::steady_clock::time_point armed_at_ = std::chrono::steady_clock::time_point::max();
  Phase phase_ = Phase::kIdle;
  std::string_view last_error_ = kConnect;  // of the last connection attempt
  int attempts_ = 0;                        // failed attempts since the last success
  std::shared_ptr<Link> link_;
  std::vector<std::string> shas_;
  std::deque<PendingPtr> sent_;      // written (or queued to write), answered in this order
  std::vector<PendingPtr> waiting_;  // arrived while connecting
  std::array<char, kReadChunk> buf_{};
};

void ClientImpl::start() {
  if (phase_ != Phase::kIdle) return;
  phase_ = Phase::kConnecting;
  asio::co_spawn(io_, run(), asio::detached);
}

void ClientImpl::stop() {
  if (phase_ == Phase::kStopped) return;
  const bool running = phase_ != Phase::kIdle;
  phase_ = Phase::kStopped;
  backoff_.cancel();
  deadlines_.cancel();
  if (link_) link_->close();
  if (!running) fail_all(kConnect, kConnect);  // else run() does, as it ends
}

void ClientImpl::perform(const StoreCall& call, Done done) {
  auto p = std::make_shared<Pending>();
  p->kind = call.op.kind;
  p->call = redis_call(call.op, s_.key_prefix);
  p->done = std::move(done);
  const bool dropping = phase_ == Phase::kReady && link_->closed;  // run() has yet to notice
  if ((phase_ != Phase::kConnecting && phase_ != Phase::kReady) || dropping) {
    const std::string_view why = phase_ == Phase::kBackoff ? last_error_ : kConnect;
    asio::post(io_, [this, p, why] { finish(p, why); });
    return;
  }
  if (call.timeout_ms > 0) {
    p->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(call.timeout_ms);
    arm(p->deadline);
  }
  if (phase_ == Phase::kReady) {
    send(p);
  } else {
    waiting_.push_back(std::move(p));
  }
}

void ClientImpl::send(const PendingPtr& p) {
  const size_t i = p->call.script;
  const std::string_view script = p->by_text ? redis_script(i) : std::string_view(shas_[i]);
  append_script_call(link_->out, p->call, script, p->by_text);
  sent_.push_back(p);
  if (!link_->writing) {
    link_->writing = true;
    asio::post(io_, [this, link = link_] { flush(link); });
  }
}

void ClientImpl::flush(const std::shared_ptr<Link>& link) {
  if (!link->tls && !link->closed) {  // plain TCP is non-blocking: a full buffer says so
    error_code ec;
    const size_t n = link->socket.send(asio::buffer(link->out), 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
    if (ec) link->close();
    if (ec || n == link->out.size()) {
      link->out.clear();
      link->writing = false;
      return;
    }
    link->out.erase(0, n);
  }
  asio::co_spawn(io_, write_loop(link), asio::detached);
}

void ClientImpl::finish(const PendingPtr& p, std::string_view error, StoreReply reply) {
  if (p->finished) return;
  p->finished = true;
  StoreResult r;
  r.ok = error.empty();
  r.error = error;
  r.reply = std::move(reply);
  const Done done = std::move(p->done);
  if (done) done(r);
}

void ClientImpl::on_timeout(const PendingPtr& p) {
  // The oldest call unanswered in time: the server (or the path to it) stalls. Drop the
  // connection; the calls behind it would wait as long.
  const bool oldest = !sent_.empty() && sent_.front() == p;
  finish(p, kTimeout);
  if (oldest && link_) link_->close(kTimeout);
}

void ClientImpl::arm(std::chrono::steady_clock::time_point at) {
  if (at >= armed_at_ || phase_ == Phase::kStopped) return;
  armed_at_ = at;
  deadlines_.expires_at(at);
  deadlines_.async_wait([this](const error_code& ec) {
    if (ec) return;  // re-armed earlier, or stopped
    armed_at_ = std::chrono::steady_clock::time_point::max();
    on_deadline();
  });
}

void ClientImpl::on_deadline() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<PendingPtr> due;
  auto next = std::chrono::steady_clock::time_point::max();
  const auto scan = [&](const auto& calls) {
    for (const PendingPtr& p : calls) {
      if (p->finished) continue;
      if (p->deadline <= now) {
        due.push_back(p);
      } else {
        next = std::min(next, p->deadline);
      }
    }
  };
  scan(sent_);
  scan(waiting_);
  for (const PendingPtr& p : due) on_timeout(p);
  arm(next);  // max: nothing left to time
}

void ClientImpl::on_reply(RespValue&& v) {
  const PendingPtr p = sent_.front();
  sent_.pop_front();
  if (p->finished) return;
  if (v.type == RespValue::Type::kError && v.text.starts_with("NOSCRIPT") && !p->by_text) {
    p->by_text = true;  // the server lost its script cache: EVAL loads the script again
    send(p);
    return;
  }
  Result<StoreReply> r = parse_redis_reply(p->kind, v);
  if (!r.ok()) {
    finish(p, kReply);
    return;
  }
  finish(p, {}, std::move(*r));
}

void ClientImpl::fail_all(std::string_view waiting_reason, std::string_view sent_reason) {
  std::vector<PendingPtr> waiting = std::move(waiting_);
  waiting_.clear();
  std::deque<PendingPtr> sent = std::move(sent_);
  sent_.clear();
  for (const PendingPtr& p : sent) finish(p, sent_reason);
  for (const PendingPtr& p : waiting) finish(p, waiting_reason);
}

int64_t ClientImpl::next_backoff_ms() {
  const int shift = std::min(attempts_, 20);
  ++attempts_;
  const int64_t base = std::max<int64_t>(1, std::min(s_.backoff_max_ms, kBackoffMinMs << shift));
  uint32_t r = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r);
  return base / 2 + static_cast<int64_t>(r % static_cast<uint32_t>(base / 2 + 1));
}

asio::awaitable<void> ClientImpl::run() {
  while (phase_ != Phase::kStopped) {
    phase_ = Phase::kConnecting;
    auto link = std::make_shared<Link>(io_);
    link_ = link;
    RespReader reader;
    asio::steady_timer deadline(io_);
    deadline.expires_after(std::chrono::milliseconds(s_.connect_timeout_ms));
    deadline.async_wait([w = std::weak_ptr<Link>(link)](const error_code& ec) {
      const std::shared_ptr<Link> l = w.lock();
      if (!ec && l) l->close();
    });
    std::string_view why = co_await connect_once(*link, reader);
    deadline.cancel();
    if (why.empty() && phase_ != Phase::kStopped) {
      attempts_ = 0;
      phase_ = Phase::kReady;
      std::vector<PendingPtr> waiting = std::move(waiting_);
      waiting_.clear();
      for (const PendingPtr& p : waiting) {
        if (!p->finished) send(p);
      }
      why = co_await read_loop(*link, reader);
      link->close(why);
      last_error_ = kConnect;
      fail_all(kConnect, link->drop_reason);
    } else {
      link->close(why);
      last_error_ = why.empty() ? kConnect : why;
      fail_all(last_error_, last_error_);
    }
    link_.reset();
    if (phase_ == Phase::kStopped) break;
    phase_ = Phase::kBackoff;
    backoff_.expires_after(std::chrono::milliseconds(next_backoff_ms()));
    error_code ec;
    co_await backoff_.async_wait(awaitable_ec(ec));
  }
  fail_all(kConnect, kConnect);
}

asio::awaitable<std::string_view> ClientImpl::connect_once(Link& link, RespReader& reader) {
  error_code ec;
  const std::string port = std::to_string(s_.port);
  const tcp::resolver::results_type endpoints =
      co_await link.resolver.async_resolve(s_.host, port, awaitable_ec(ec));
  if (ec || link.closed) co_return kConnect;
  co_await asio::async_connect(link.socket, endpoints, awaitable_ec(ec));
  if (ec || link.closed) co_return kConnect;
  link.socket.set_option(tcp::no_delay(true), ec);
  if (!tls_) link.socket.non_blocking(true, ec);  // read_some() after a readiness wait
  if (tls_) {
    link.tls = std::make_unique<ssl::stream<tcp::socket&>>(link.socket, *tls_);
    if (!is_ip_literal(s_.host))
      SSL_set_tlsext_host_name(link.tls->native_handle(), s_.host.c_str());
    link.tls->set_verify_callback(ssl::host_name_verification(s_.host), ec);
    co_await link.tls->async_handshake(ssl::stream_base::client, awaitable_ec(ec));
    if (link.closed) co_return kConnect;
    if (ec) co_return kTls;
  }
  const std::string_view why = co_await hello(link, reader);
  co_return why;
}

// A reply's verdict during the hello exchange: NOAUTH / WRONGPASS mean the credentials.
std::string_view hello_error(const RespValue& v) {
  if (v.type != RespValue::Type::kError) return kReply;
  for (std::string_view auth : {"NOAUTH", "WRONGPASS", "ERR AUTH", "ERR invalid password"}) {
    if (v.text.starts_with(auth)) return kAuth;
  }
  return kReply;
}

asio::awaitable<std::string_view> ClientImpl::hello(Link& link, RespReader& reader) {
  std::string out;
  const bool auth = !s_.password.empty();
  if (auth && !s_.user.empty()) append_command(out, {"AUTH", s_.user, s_.password});
  if (auth && s_.user.empty()) append_command(out, {"AUTH", s_.password});
  const std::string db = std::to_string(s_.db);
  if (s_.db != 0) append_command(out, {"SELECT", db});
  for (size_t i = 0; i < redis_script_count(); ++i) {
    append_command(out, {"SCRIPT", "LOAD", redis_script(i)});
  }
  error_code ec;
  co_await write_all(link, out, ec);
  OPENSSL_cleanse(out.data(), out.size());  // it held the password
  if (ec) co_return kConnect;
  std::vector<std::string> shas;
  RespValue v;
  if (auth) {
    const std::string_view why = co_await next_reply(link, reader, v);
    if (!why.empty()) co_return why;
    if (v.type != RespValue::Type::kStatus) co_return kAuth;
  }
  if (s_.db != 0) {
    const std::string_view why = co_await next_reply(link, reader, v);
    if (!why.empty()) co_return why;
    if (v.type != RespValue::Type::kStatus) co_return hello_error(v);
  }
  for (size_t i = 0; i < redis_script_count(); ++i) {
    const std::string_view why = co_await next_reply(link, reader, v);
    if (!why.empty()) co_return why;
    if (v.type != RespValue::Type::kString || v.text.size() != 40) co_return hello_error(v);
    shas.push_back(std::move(v.text));
  }
  shas_ = std::move(shas);
  co_return std::string_view();
}

asio::awaitable<std::string_view> ClientImpl::next_reply(Link& link, RespReader& reader,
                                                         RespValue& out) {
  for (;;) {
    const RespReader::Next next = reader.next(out);
    if (next == RespReader::Next::kReply) co_return std::string_view();
    if (next == RespReader::Next::kError) co_return kReply;
    error_code ec;
    const size_t n = co_await read_some(link, ec);
    if (ec || link.closed) co_return kConnect;
    reader.feed(buf_.data(), n);
  }
}

asio::awaitable<std::string_view> ClientImpl::read_loop(Link& link, RespReader& reader) {
  for (;;) {
    RespValue v;
    const std::string_view why = co_await next_reply(link, reader, v);
    if (!why.empty()) co_return why;
    if (sent_.empty()) co_return kReply;  // a reply nobody asked for: out of step
    on_reply(std::move(v));
  }
}

asio::awaitable<void> ClientImpl::write_loop(std::shared_ptr<Link> link) {
  while (!link->out.empty() && !link->closed) {
    std::string chunk;
    chunk.swap(link->out);
    error_code ec;
    co_await write_all(*link, chunk, ec);
    if (ec) link->close();
  }
  link->writing = false;
}

asio::awaitable<size_t> ClientImpl::read_some(Link& link, error_code& ec) {
  if (link.tls) {
    const size_t n = co_await link.tls->async_read_some(asio::buffer(buf_), awaitable_ec(ec));
    co_return n;
  }
  // Plain TCP: wait for readability, then take what is there. On Boost 1.74 the wait costs an
  // epoll_ctl per batch of replies (every async_wait re-arms); async_read_some instead costs a
  // read that finds nothing (it always tries first): one extra system call either way.
  co_await link.socket.async_wait(tcp::socket::wait_read, awaitable_ec(ec));
  if (ec) co_return 0;
  const size_t n = link.socket.read_some(asio::buffer(buf_), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
  co_return n;
}

asio::awaitable<void> ClientImpl::write_all(Link& link, const std::string& data, error_code& ec) {
  if (link.tls) {
    co_await asio::async_write(*link.tls, asio::buffer(data), awaitable_ec(ec));
    co_return;
  }
  co_await asio::async_write(link.socket, asio::buffer(data), awaitable_ec(ec));
}

}  // namespace

Result<std::unique_ptr<RedisClient>> RedisClient::create(asio::io_context& io,
                                                         RedisSettings settings) {
  std::optional<ssl::context> tls;
  if (settings.tls) {
    tls.emplace(ssl::context::tls_client);
    error_code ec;
    tls->set_default_verify_paths(ec);  // none is not fatal: REDIS_CA_FILE may do
    if (!settings.ca_file.empty()) {
      tls->load_verify_file(settings.ca_file, ec);
      if (ec) {
        return make_error(Errc::kInvalidConfig,
                          "REDIS_CA_FILE: cannot read a CA bundle from " + settings.ca_file);
      }
    }
    tls->set_verify_mode(ssl::verify_peer, ec);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
  }
  std::unique_ptr<RedisClient> c =
      std::make_unique<ClientImpl>(io, std::move(settings), std::move(tls));
  return c;
}

}  // namespace zproxy::native
