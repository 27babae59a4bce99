// Load generator for the bench harness (loopback only), one thread, epoll.
//
//   loadgen --port P --request FILE [--request FILE2 ...] (--rate R | --concurrency C)
//           [--duration S] [--warmup S] [--drain S] [--max-conns N] [--expect TEXT]
//           [--status CODE] [--host 127.x.y.z]
//
// --rate R: open loop. Request i is due at start + i/R seconds whatever happened before; its
//   latency and time to first byte count from that scheduled instant, so a stalled server is
//   charged for the queueing it causes (no coordinated omission). Keep-alive connections are
//   reused, new ones opened up to --max-conns; past that, due requests wait in a queue.
// --concurrency C: closed loop, C connections each sending its next request when the last
//   one completed (latency counts from the send).
// TTFB is the time to the first response body byte (an SSE stream's first event).
// Requests whose due time falls in the first --warmup seconds are excluded from the figures
// (not from the error counts). Request files hold raw HTTP/1.1 requests, used round-robin.
// A response is ok when its status is --status (200) and its decoded body contains every
// --expect text (the option may repeat).
// Prints one JSON object on stdout. Exits 0 after --duration + at most --drain seconds.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "http_reader.h"
#include "report_util.h"

namespace zbench {
namespace {

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::vector<std::string> requests;
  double rate = 0;
  int concurrency = 0;
  double duration_s = 10, warmup_s = 1, drain_s = 10;
  int max_conns = 4096;
  int status = 200;
  std::vector<std::string> expect;  // each must occur in the body
};

struct Job {
  int64_t due_ns = 0;
  uint64_t index = 0;
  bool counted = false;
  int tries = 0;
};

struct Conn {
  uint32_t slot = 0;
  int fd = -1;
  bool connecting = false;
  bool busy = false;
  bool reused = false;
  std::string out;
  size_t out_off = 0;
  HttpResponseReader reader{64 * 1024};
  Job job;
  int64_t first_ns = 0;  // first body byte (for SSE: the first event)
};

enum ErrorKind { kConnect, kStatus, kMismatch, kReset, kBad, kTimeout, kErrorKinds };
const char* const kErrorNames[] = {"connect", "status", "mismatch", "reset", "bad", "timeout"};

struct Stats {
  std::vector<int64_t> lat_us, ttfb_us, lag_us;
  uint64_t sent = 0, ok_total = 0, ok_counted = 0, retried = 0;
  uint64_t errors[kErrorKinds] = {};
  size_t max_open = 0, max_inflight = 0;
  std::string first_error;
};

class LoadGen {
 public:
  explicit LoadGen(Options o) : o_(std::move(o)) {}
  int run(const sockaddr_in& addr);

 private:
  void start_job(Job job);
  void open_conn(Job job);
  void assign(Conn& c, Job job);
  void flush(Conn& c);
  void on_event(Conn& c, uint32_t events);
  void on_readable(Conn& c);
  void complete(Conn& c);
  void fail(Conn& c, ErrorKind kind, const std::string& why);
  void close_conn(Conn& c);
  void after_response(Conn& c, bool keep);
  void watch(Conn& c, bool want_out);
  Job next_job(int64_t due);
  void arm_timer(int64_t at_ns);
  void print_report(int64_t measured_ns) const;

  Options o_;
  int ep_ = -1, tfd_ = -1;
  sockaddr_in addr_{};
  // Connections live in slots named in epoll's data; a closed slot is recycled only after the
  // current batch of events, so no handler ever sees a reused object.
  std::vector<std::unique_ptr<Conn>> slots_;
  std::vector<uint32_t> free_, to_free_;
  std::vector<Conn*> idle_;
  std::deque<Job> backlog_;
  size_t open_ = 0, inflight_ = 0;
  uint64_t next_index_ = 0;
  int64_t start_ns_ = 0, warm_end_ns_ = 0, end_ns_ = 0;
  Stats st_;
};

Job LoadGen::next_job(int64_t due) {
  Job j;
  j.due_ns = due;
  j.index = next_index_++;
  j.counted = due >= warm_end_ns_;
  return j;
}

void LoadGen::watch(Conn& c, bool want_out) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0u);
  ev.data.u64 = c.slot;
  epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
}

void LoadGen::start_job(Job job) {
  while (!idle_.empty()) {
    Conn* c = idle_.back();
    idle_.pop_back();
    if (c->fd >= 0) return assign(*c, job);
  }
  if (static_cast<int>(open_) < o_.max_conns) return open_conn(job);
  backlog_.push_back(job);
}

void LoadGen::open_conn(Job job) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ++st_.errors[kConnect];
    if (st_.first_error.empty()) st_.first_error = std::string("socket: ") + strerror(errno);
    return;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(nullptr);
  }
  slots_[slot] = std::make_unique<Conn>();
  Conn& c = *slots_[slot];
  c.slot = slot;
  c.fd = fd;
  ++open_;
  st_.max_open = std::max(st_.max_open, open_);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.u64 = slot;
  epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
  c.connecting = rc != 0 && errno == EINPROGRESS;
  if (rc != 0 && errno != EINPROGRESS) {
    c.job = job;
    c.busy = true;
    ++inflight_;
    return fail(c, kConnect, std::string("connect: ") + strerror(errno));
  }
  assign(c, job);
}

void LoadGen::assign(Conn& c, Job job) {
  c.job = job;
  c.busy = true;
  ++inflight_;
  st_.max_inflight = std::max(st_.max_inflight, inflight_);
  c.reader.reset();
  c.first_ns = 0;
  c.out = o_.requests[job.index % o_.requests.size()];
  c.out_off = 0;
  if (job.tries == 0) {
    ++st_.sent;
    if (job.counted) st_.lag_us.push_back((now_ns() - job.due_ns) / 1000);
  }
  if (!c.connecting) flush(c);
}

void LoadGen::flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    const ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return watch(c, true);
    return fail(c, kReset, std::string("send: ") + strerror(errno));
  }
  watch(c, false);
}

void LoadGen::on_event(Conn& c, uint32_t events) {
  if (c.connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(c, kConnect, std::string("connect: ") + strerror(err));
    if (!(events & (EPOLLOUT | EPOLLIN))) return;
    c.connecting = false;
    if (c.busy) flush(c);
    if (c.fd < 0) return;
  }
  if ((events & EPOLLOUT) && c.busy && c.out_off < c.out.size()) flush(c);
  if (c.fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) on_readable(c);
}

void LoadGen::on_readable(Conn& c) {
  char buf[65536];
  for (;;) {
    const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      if (!c.busy) return close_conn(c);  // stray bytes on an idle connection
      const ReadState s = c.reader.feed(std::string_view(buf, static_cast<size_t>(n)));
      if (c.first_ns == 0 && (c.reader.body_bytes() > 0 || s == ReadState::kDone))
        c.first_ns = now_ns();
      if (s == ReadState::kBad) return fail(c, kBad, "unparsable response");
      if (s == ReadState::kDone) return complete(c);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (!c.busy) return close_conn(c);  // the server closed an idle keep-alive connection
    if (c.reader.on_eof() == ReadState::kDone) return complete(c);
    return fail(c, kReset, n == 0 ? "connection closed mid-response" : strerror(errno));
  }
}

void LoadGen::complete(Conn& c) {
  const int64_t t = now_ns();
  const Job job = c.job;
  const bool status_ok = c.reader.status() == o_.status;
  bool body_ok = true;
  for (const std::string& e : o_.expect)
    body_ok = body_ok && c.reader.body().find(e) != std::string::npos;
  if (!status_ok || !body_ok) {
    const std::string why =
        "HTTP " + std::to_string(c.reader.status()) + ": " + c.reader.body().substr(0, 300);
    return fail(c, status_ok ? kMismatch : kStatus, why);
  }
  ++st_.ok_total;
  if (job.counted) {
    ++st_.ok_counted;
    st_.lat_us.push_back((t - job.due_ns) / 1000);
    st_.ttfb_us.push_back((c.first_ns - job.due_ns) / 1000);
  }
  after_response(c, c.reader.keep_alive());
}

void LoadGen::after_response(Conn& c, bool keep) {
  c.busy = false;
  --inflight_;
  if (!keep) close_conn(c);
  const int64_t t = now_ns();
  Job next;
  bool have = false;
  if (!backlog_.empty()) {
    next = backlog_.front();
    backlog_.pop_front();
    have = true;
  } else if (o_.concurrency > 0 && t < end_ns_) {
    next = next_job(t);
    have = true;
  }
  if (!have) {
    if (keep) idle_.push_back(&c);
    return;
  }
  if (keep) {
    c.reused = true;
    return assign(c, next);
  }
  start_job(next);
}

void LoadGen::fail(Conn& c, ErrorKind kind, const std::string& why) {
  Job job = c.job;
  const bool was_busy = c.busy;
  const bool stale = c.reused && !c.reader.started() && (kind == kReset || kind == kBad);
  if (was_busy) {
    c.busy = false;
    --inflight_;
  }
  close_conn(c);
  if (!was_busy) return;
  if (stale && job.tries == 0) {  // a keep-alive connection the server had just closed
    ++st_.retried;
    ++job.tries;
    return open_conn(job);
  }
  ++st_.errors[kind];
  if (st_.first_error.empty()) st_.first_error = why;
  if (o_.concurrency > 0 && now_ns() < end_ns_)
    start_job(next_job(now_ns()));
  else if (!backlog_.empty()) {
    const Job next = backlog_.front();
    backlog_.pop_front();
    start_job(next);
  }
}

void LoadGen::close_conn(Conn& c) {
  if (c.fd < 0) return;
  epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
  close(c.fd);
  c.fd = -1;
  --open_;
  idle_.erase(std::remove(idle_.begin(), idle_.end(), &c), idle_.end());
  to_free_.push_back(c.slot);
}

void LoadGen::arm_timer(int64_t at_ns) {
  itimerspec its{};
  its.it_value.tv_sec = at_ns / 1000000000;
  its.it_value.tv_nsec = at_ns % 1000000000;
  timerfd_settime(tfd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

int LoadGen::run(const sockaddr_in& addr) {
  addr_ = addr;
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  epoll_event tev{};
  tev.events = EPOLLIN;
  tev.data.u64 = UINT64_MAX;
  epoll_ctl(ep_, EPOLL_CTL_ADD, tfd_, &tev);
  start_ns_ = now_ns();
  warm_end_ns_ = start_ns_ + static_cast<int64_t>(o_.warmup_s * 1e9);
  end_ns_ = start_ns_ + static_cast<int64_t>(o_.duration_s * 1e9);
  const int64_t drain_end = end_ns_ + static_cast<int64_t>(o_.drain_s * 1e9);
  const double interval_ns = o_.rate > 0 ? 1e9 / o_.rate : 0;
  uint64_t scheduled = 0;  // open loop: jobs released so far
  if (o_.concurrency > 0) {
    for (int i = 0; i < o_.concurrency; ++i) open_conn(next_job(start_ns_));
  }
  std::vector<epoll_event> events(1024);
  for (;;) {
    int64_t t = now_ns();
    if (o_.rate > 0) {
      for (;;) {
        const int64_t due = start_ns_ + static_cast<int64_t>(std::llround(scheduled * interval_ns));
        if (due > t || due >= end_ns_) break;
        start_job(next_job(due));
        ++scheduled;
      }
    }
    const bool running = t < end_ns_;
    if (!running && inflight_ == 0 && backlog_.empty()) break;
    if (t >= drain_end) break;
    int64_t wake = running ? end_ns_ : drain_end;
    if (o_.rate > 0 && running) {
      wake = std::min<int64_t>(wake, start_ns_ + std::llround(scheduled * interval_ns));
    }
    arm_timer(wake);
    const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == UINT64_MAX) {
        uint64_t expirations;
        (void)!read(tfd_, &expirations, sizeof expirations);
        continue;
      }
      Conn& c = *slots_[events[i].data.u64];
      if (c.fd >= 0) on_event(c, events[i].events);
    }
    for (uint32_t s : to_free_) {
      slots_[s].reset();
      free_.push_back(s);
    }
    to_free_.clear();
  }
  const uint64_t unfinished = inflight_ + backlog_.size();
  st_.errors[kTimeout] += unfinished;
  if (unfinished > 0 && st_.first_error.empty()) {
    st_.first_error = std::to_string(unfinished) + " requests unfinished after the drain time";
  }
  print_report(end_ns_ - warm_end_ns_);
  return 0;
}

void LoadGen::print_report(int64_t measured_ns) const {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu_s =
      ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  uint64_t errors = 0;
  std::ostringstream e;
  for (int k = 0; k < kErrorKinds; ++k) {
    errors += st_.errors[k];
    e << (k ? "," : "") << "\"" << kErrorNames[k] << "\":" << st_.errors[k];
  }
  const double secs = static_cast<double>(measured_ns) / 1e9;
  std::printf(
      "{\"mode\":\"%s\",\"rate\":%g,\"concurrency\":%d,\"duration_s\":%g,\"warmup_s\":%g,"
      "\"sent\":%llu,\"ok\":%llu,\"ok_measured\":%llu,\"errors_total\":%llu,\"errors\":{%s},"
      "\"retried\":%llu,\"achieved_rps\":%.1f,\"max_open_conns\":%zu,\"max_inflight\":%zu,"
      "\"cpu_s\":%.3f,\"lat_us\":%s,\"ttfb_us\":%s,\"lag_us\":%s,\"first_error\":%s}\n",
      o_.rate > 0 ? "open" : "closed", o_.rate, o_.concurrency, o_.duration_s, o_.warmup_s,
      static_cast<unsigned long long>(st_.sent), static_cast<unsigned long long>(st_.ok_total),
      static_cast<unsigned long long>(st_.ok_counted), static_cast<unsigned long long>(errors),
      e.str().c_str(), static_cast<unsigned long long>(st_.retried),
      secs > 0 ? static_cast<double>(st_.ok_counted) / secs : 0.0, st_.max_open, st_.max_inflight,
      cpu_s, percentiles(st_.lat_us).c_str(), percentiles(st_.ttfb_us).c_str(),
      percentiles(st_.lag_us).c_str(), json_string(st_.first_error).c_str());
}

int usage(const char* why) {
  std::fprintf(stderr, "loadgen: %s\n", why);
  return 2;
}

}  // namespace
}  // namespace zbench

int main(int argc, char** argv) {
  using namespace zbench;
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage(("missing value for " + a).c_str());
    const std::string v = argv[++i];
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = std::atoi(v.c_str());
    else if (a == "--rate")
      o.rate = std::atof(v.c_str());
    else if (a == "--concurrency")
      o.concurrency = std::atoi(v.c_str());
    else if (a == "--duration")
      o.duration_s = std::atof(v.c_str());
    else if (a == "--warmup")
      o.warmup_s = std::atof(v.c_str());
    else if (a == "--drain")
      o.drain_s = std::atof(v.c_str());
    else if (a == "--max-conns")
      o.max_conns = std::atoi(v.c_str());
    else if (a == "--status")
      o.status = std::atoi(v.c_str());
    else if (a == "--expect")
      o.expect.push_back(v);
    else if (a == "--request") {
      std::string body;
      if (!read_file(v, body) || body.empty()) return usage(("cannot read " + v).c_str());
      o.requests.push_back(body);
    } else {
      return usage(("unknown option " + a).c_str());
    }
  }
  if (o.port <= 0 || o.port > 65535) return usage("--port is required");
  if (o.requests.empty()) return usage("--request is required");
  if ((o.rate > 0) == (o.concurrency > 0))
    return usage("give exactly one of --rate, --concurrency");
  if (o.warmup_s >= o.duration_s) return usage("--warmup must be shorter than --duration");
  LoadGen gen(o);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1 ||
      (ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
    return usage("--host must be a loopback IPv4 address (127.0.0.0/8)");
  }
  return gen.run(addr);
}
