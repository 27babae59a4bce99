#pragma once
// The listening socket: accepts connections into sessions and, when the process runs out of
// file descriptors, sheds load (a quick 503) instead of failing or spinning.

#include <utility>  // before Asio (Boost 1.74)

#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "core/result.h"
#include "host.h"
#include "session.h"

namespace zproxy::native {

class Listener {
 public:
  Listener(Host& host, Sessions& sessions);
  ~Listener();

  // Binds `address` (a literal or a resolvable name) and starts listening.
  Status open(const std::string& address, int port);
  std::string local_endpoint() const;
  asio::awaitable<void> run();
  void close();

 private:
  asio::awaitable<void> shed();

  Host& host_;
  Sessions& sessions_;
  asio::ip::tcp::acceptor acceptor_;
  int reserve_fd_ = -1;  // an fd kept open so one can be freed to refuse a connection
  int64_t last_shed_log_ = 0;
  uint64_t shed_count_ = 0;
};

}  // namespace zproxy::native
