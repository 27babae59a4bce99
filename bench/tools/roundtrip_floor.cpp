// The floor under a state store's cost: the client CPU of one bare loopback TCP round trip per
// request at a fixed rate, on this machine, measured beside the state stage.
//
//   roundtrip_floor [--rate R] [--count N] [--bytes B] [--reps K] [--client-cpu C] [--echo-cpu E]
//
// An echo server (a forked child pinned to E, as redis-server is) answers every message at
// once. The client (pinned to C, as the proxy is) wakes every 1/R s and, in alternating runs,
// either does nothing else (the tick) or sends B bytes and waits in epoll_wait for the echo
// (the round trip: a send, an idle wait, a wake-up, a receive; no parsing, no Lua). Prints one
// JSON object: CPU µs per request of each, and their difference, as medians of K pairs. What
// a store client adds per awaited call cannot be much below that difference.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

double cpu_us() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "roundtrip_floor: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  long rate = 1000, count = 3000, bytes = 200, reps = 3;
  int client_cpu = 0, echo_cpu = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const long v = std::atol(argv[i + 1]);
    if (k == "--rate")
      rate = v;
    else if (k == "--count")
      count = v;
    else if (k == "--bytes")
      bytes = v;
    else if (k == "--reps")
      reps = v;
    else if (k == "--client-cpu")
      client_cpu = static_cast<int>(v);
    else if (k == "--echo-cpu")
      echo_cpu = static_cast<int>(v);
    else {
      std::fprintf(stderr, "roundtrip_floor: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (rate <= 0 || count <= 0 || bytes <= 0 || bytes > 4096 || reps <= 0) {
    std::fprintf(stderr, "roundtrip_floor: bad values\n");
    return 2;
  }
  const int ls = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (ls < 0 || bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(ls, 1) != 0 || getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    die("listen");
  }
  const pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    pin(echo_cpu);
    const int c = accept(ls, nullptr, nullptr);
    const int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[4096];
    for (;;) {
      const ssize_t r = recv(c, buf, sizeof buf, 0);
      if (r <= 0) _exit(0);
      if (send(c, buf, static_cast<size_t>(r), 0) != r) _exit(0);
    }
  }
  close(ls);
  pin(client_cpu);
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (s < 0) die("socket");
  if (connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS)
    die("connect");
  const int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ev.data.fd = s;
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) != 0) die("epoll");
  epoll_event out{};
  while (epoll_wait(ep, &out, 1, 5000) == 1 && !(out.events & EPOLLOUT)) {
  }
  const std::string msg(static_cast<size_t>(bytes), 'x');
  char buf[4096];
  const long step_ns = 1000000000L / rate;
  auto run = [&](bool round_trip) {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    const double c0 = cpu_us();
    for (long i = 0; i < count; ++i) {
      t.tv_nsec += step_ns;
      while (t.tv_nsec >= 1000000000L) {
        t.tv_nsec -= 1000000000L;
        ++t.tv_sec;
      }
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr);
      if (!round_trip) continue;
      if (send(s, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size()))
        die("send");
      size_t got = 0;
      while (got < msg.size()) {
        const ssize_t r = recv(s, buf, sizeof buf, 0);
        if (r > 0) {
          got += static_cast<size_t>(r);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          die("recv");
        } else if (epoll_wait(ep, &out, 1, 5000) == 0) {
          errno = ETIMEDOUT;
          die("echo");
        }
      }
    }
    return (cpu_us() - c0) / static_cast<double>(count);
  };
  std::vector<double> tick, trip, added;
  for (long r = 0; r < reps; ++r) {
    const double a = run(false);
    const double b = run(true);
    tick.push_back(a);
    trip.push_back(b);
    added.push_back(b - a);
  }
  close(s);
  waitpid(child, nullptr, 0);
  std::printf(
      "{\"rate\":%ld,\"count\":%ld,\"bytes\":%ld,\"reps\":%ld,\"tick_us\":%.2f,"
      "\"round_trip_us\":%.2f,\"added_us\":%.2f}\n",
      rate, count, bytes, reps, median(tick), median(trip), median(added));
  return 0;
}
