#include "listener.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace zproxy::native {

namespace {

using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr int64_t kShedLogIntervalMs = 1000;
constexpr auto kBackoff = std::chrono::milliseconds(50);

auto awaitable_ec(error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

bool out_of_descriptors(const error_code& ec) {
  return ec == asio::error::no_descriptors ||
         (ec.category() == boost::system::system_category() && ec.value() == ENFILE);
}

asio::awaitable<void> pause(asio::io_context& io) {
  asio::steady_timer t(io);
  t.expires_after(kBackoff);
  error_code ec;
  co_await t.async_wait(awaitable_ec(ec));
}

}  // namespace

Listener::Listener(Host& host, Sessions& sessions)
    : host_(host), sessions_(sessions), acceptor_(host.io()) {}

Listener::~Listener() {
  close();
}

Status Listener::open(const std::string& address, int port) {
  error_code ec;
  tcp::endpoint endpoint;
  const asio::ip::address literal = asio::ip::make_address(address, ec);
  if (!ec) {
    endpoint = tcp::endpoint(literal, static_cast<unsigned short>(port));
  } else {
    tcp::resolver resolver(host_.io());
    const auto results = resolver.resolve(address, std::to_string(port), ec);
    if (ec || results.empty()) {
      return make_error(Errc::kInvalidConfig, "HOST " + address + " could not be resolved");
    }
    endpoint = *results.begin();
  }
  const std::string where = address + ":" + std::to_string(port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(Errc::kInternalError, "cannot listen on " + where + ": " + ec.message());
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return ok_status();
}

std::string Listener::local_endpoint() const {
  error_code ec;
  const tcp::endpoint ep = acceptor_.local_endpoint(ec);
  if (ec) return "?";
  const std::string addr = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + addr + "]" : addr) + ":" + std::to_string(ep.port());
}

asio::awaitable<void> Listener::run() {
  while (acceptor_.is_open()) {
    tcp::socket socket(host_.io());
    error_code ec;
    co_await acceptor_.async_accept(socket, awaitable_ec(ec));
    if (!acceptor_.is_open()) co_return;
    if (out_of_descriptors(ec)) {
      co_await shed();
      continue;
    }
    if (ec) {  // a transient accept failure (memory, aborted handshake): never spin on it
      co_await pause(host_.io());
      continue;
    }
    if (sessions_.open.size() >= host_.gw().config().max_connections) {
      refuse(socket.native_handle());
      socket.close(ec);
      count_refusal(over_limit_, "connection_limit", "MAX_CONNECTIONS open connections");
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    spawn_session(host_, sessions_, std::move(socket));
  }
}

// Out of descriptors: free the reserve one, take the waiting connection, refuse it, then
// re-arm the reserve. Leaves the pending queue short instead of letting clients hang in it.
asio::awaitable<void> Listener::shed() {
  if (reserve_fd_ >= 0) {
    ::close(reserve_fd_);
    reserve_fd_ = -1;
  }
  const int fd =
      ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd >= 0) {
    refuse(fd);
    ::close(fd);
  }
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  count_refusal(out_of_fds_, "accept_shed", "out of file descriptors");
  if (fd < 0 || reserve_fd_ < 0) co_await pause(host_.io());  // nothing freed: back off
}

// Answers a just-accepted connection 503 server_overloaded with Retry-After, without reading
// its request, and ends the sending side; the caller closes `fd`. Never blocks: the answer
// fits an empty socket buffer.
void Listener::refuse(int fd) {
  const std::string answer = host_error_response(
      host_.gw(), 503, "The server is at its connection limit; retry shortly", 1);
  (void)!::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  char sink[4096];  // what already arrived, so the close sends FIN rather than RST
  for (int i = 0; i < 16; ++i) {
    if (::recv(fd, sink, sizeof sink, MSG_DONTWAIT) <= 0) break;
  }
  ::shutdown(fd, SHUT_WR);
}

void Listener::count_refusal(Refusals& r, std::string_view event, std::string_view why) {
  ++r.count;
  const int64_t now = now_ms();
  if (now - r.last_log < kShedLogIntervalMs) return;
  r.last_log = now;
  host_.gw().log(
      LogLevel::kWarn, event,
      std::string(why) + ": " + std::to_string(r.count) + " connection(s) refused with 503 so far",
      wall_ms());
  host_.poll();
}

void Listener::close() {
  error_code ec;
  acceptor_.close(ec);
  if (reserve_fd_ >= 0) {
    ::close(reserve_fd_);
    reserve_fd_ = -1;
  }
}

}  // namespace zproxy::native
