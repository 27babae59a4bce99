#include "healthcheck.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>

namespace zproxy::native {

namespace {

constexpr int kTimeoutMs = 3000;

int64_t elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

// Waits for `events` on fd within what is left of the overall timeout.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point start) {
  while (true) {
    const int64_t left = kTimeoutMs - elapsed_ms(start);
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

// The status code of the answer, or 0 on any failure.
int probe(int port) {
  const auto start = std::chrono::steady_clock::now();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int status = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ||
      (errno == EINPROGRESS && wait_for(fd, POLLOUT, start))) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                            "\r\nConnection: close\r\n\r\n";
    std::string answer;
    if (err == 0 &&
        ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[512];
      while (answer.size() < 12 && wait_for(fd, POLLIN, start)) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        answer.append(buf, static_cast<size_t>(n));
      }
    }
    // "HTTP/1.1 200 ..."
    if (answer.size() >= 12 && answer.compare(0, 5, "HTTP/") == 0) {
      status = std::atoi(answer.substr(9, 3).c_str());
    }
  }
  ::close(fd);
  return status;
}

}  // namespace

int run_healthcheck(const EnvMap& env) {
  Result<Config> config = load_config(env);
  if (!config) {
    std::fprintf(stderr, "unhealthy: %s\n", config.error().message.c_str());
    return 1;
  }
  const int status = probe(config->port);
  if (status == 200) {
    std::printf("healthy\n");
    return 0;
  }
  std::fprintf(stderr, "unhealthy: %s\n",
               status == 0 ? "no answer from /healthz"
                           : ("/healthz answered " + std::to_string(status)).c_str());
  return 1;
}

}  // namespace zproxy::native
