// The floor for a proxy built on Boost.Beast and coroutines: an idiomatic hop that reads a
// request, forwards it over its own keep-alive upstream connection, reads the answer and
// writes it back (no core, no timeouts, no logging). Not part of the harness; used to show
// what the library itself costs next to nginx (bench/PROFILE.md, "Native host"):
//   g++ -std=c++20 -O2 -o /tmp/beast_hop bench/tools/beast_hop.cpp -lpthread
//   /tmp/beast_hop LISTEN_PORT UPSTREAM_PORT     (both on 127.0.0.1)
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cstdio>
#include <utility>
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
static tcp::endpoint up_ep;
asio::awaitable<void> session(tcp::socket client) {
  try {
    tcp::socket up(co_await asio::this_coro::executor);
    co_await up.async_connect(up_ep, use_awaitable);
    client.set_option(tcp::no_delay(true));
    up.set_option(tcp::no_delay(true));
    beast::flat_buffer cbuf, ubuf;
    for (;;) {
      http::request<http::string_body> req;
      co_await http::async_read(client, cbuf, req, use_awaitable);
      req.set(http::field::host, "127.0.0.1");
      co_await http::async_write(up, req, use_awaitable);
      http::response<http::string_body> res;
      co_await http::async_read(up, ubuf, res, use_awaitable);
      co_await http::async_write(client, res, use_awaitable);
    }
  } catch (...) {
  }
}
asio::awaitable<void> listen(tcp::acceptor& acc) {
  for (;;) {
    tcp::socket s = co_await acc.async_accept(use_awaitable);
    asio::co_spawn(acc.get_executor(), session(std::move(s)), asio::detached);
  }
}
int main(int argc, char** argv) {
  asio::io_context io(1);
  up_ep = tcp::endpoint(asio::ip::make_address("127.0.0.1"), (unsigned short)atoi(argv[2]));
  tcp::acceptor acc(
      io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), (unsigned short)atoi(argv[1])));
  asio::co_spawn(io, listen(acc), asio::detached);
  io.run();
}
