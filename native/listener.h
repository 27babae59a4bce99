#pragma once
// The listening socket: accepts connections into sessions and sheds load with a quick 503
// (server_overloaded, Retry-After) beyond MAX_CONNECTIONS open connections, or when the
// process runs out of file descriptors, instead of failing or spinning.

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
  // Connections refused for one reason; logged at most once a second.
  struct Refusals {
    uint64_t count = 0;
    int64_t last_log = 0;
  };

  asio::awaitable<void> shed();
  void refuse(int fd);
  void count_refusal(Refusals& r, std::string_view event, std::string_view why);

  Host& host_;
  Sessions& sessions_;
  asio::ip::tcp::acceptor acceptor_;
  int reserve_fd_ = -1;  // an fd kept open so one can be freed to refuse a connection
  Refusals out_of_fds_;
  Refusals over_limit_;
};

}  // namespace zproxy::native
