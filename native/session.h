#pragma once
// One client connection: HTTP/1.1 keep-alive, each request driven through a gateway Exchange.
// Beast stays inside session.cpp.

#include <utility>  // before Asio (Boost 1.74)

#include <unordered_set>

#include <boost/asio/ip/tcp.hpp>

#include "host.h"

namespace zproxy::native {

// A connection as the listener and the shutdown sequence see it.
class Session {
 public:
  virtual ~Session() = default;
  // Closes the connection if it waits between requests (shutdown).
  virtual void close_if_idle() = 0;
  // Closes the connection now; a running exchange ends as if the client went away.
  virtual void close_now() = 0;
};

// The open connections. `draining`: each finishes its current exchange, then closes.
struct Sessions {
  std::unordered_set<Session*> open;
  bool draining = false;
};

// Serves `socket` in its own coroutine until the client leaves or the connection must close.
void spawn_session(Host& host, Sessions& sessions, asio::ip::tcp::socket socket);

}  // namespace zproxy::native
