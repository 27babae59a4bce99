// A fake Z.AI upstream that paces its streams (loopback only), one thread, epoll.
//
//   paced_upstream --port P [--host 127.x.y.z] [--chunks N] [--interval-ms M] [--text T]
//
// Routes (HTTP/1.1, keep-alive, request bodies framed by Content-Length):
//   GET  .../api/v1/auths/        guest token JSON, at once
//   POST .../api/chat/completions guest SSE: N answer deltas T, one every M ms, then usage and
//                                 the done frame (no [DONE], as upstream)
//   POST .../chat/completions     official API: with "stream":true in the body, N chunks T one
//                                 every M ms, then the final chunk (finish_reason + usage) and
//                                 [DONE]; otherwise one JSON completion at once
// Streams use chunked transfer coding; the head goes out at once, delta i after (i+1)*M ms.
// The answer is T repeated N times. Runs until SIGTERM/SIGINT.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <queue>
#include <string>
#include <vector>

namespace {

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

volatile std::sig_atomic_t g_stop = 0;  // set by the signal handler only
void on_signal(int) {
  g_stop = 1;
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int chunks = 20;
  int interval_ms = 100;
  std::string text = "word ";
};

enum class Shape : uint8_t { kGuest, kApi };

struct Conn {
  uint32_t slot = 0;
  uint32_t gen = 0;  // bumped per response, so stale ticks are ignored
  int fd = -1;
  std::string in;
  std::string out;
  size_t out_off = 0;
  bool streaming = false;
  Shape shape = Shape::kApi;
  int sent_chunks = 0;
};

struct Tick {
  int64_t due_ns;
  uint32_t slot;
  uint32_t gen;
  bool operator>(const Tick& o) const { return due_ns > o.due_ns; }
};

std::string chunk(const std::string& payload) {
  char size[24];
  std::snprintf(size, sizeof size, "%zx\r\n", payload.size());
  return size + payload + "\r\n";
}

class Server {
 public:
  explicit Server(Options o) : o_(std::move(o)) {}
  int run(const sockaddr_in& addr);

 private:
  void accept_all();
  void on_event(Conn& c, uint32_t events);
  void on_request(Conn& c);
  void respond(Conn& c, const std::string& head_and_body);
  void send_tick(Conn& c);
  void flush(Conn& c);
  void close_conn(Conn& c);
  std::string delta_event(Shape shape) const;
  std::string end_events(Shape shape) const;

  Options o_;
  int ep_ = -1, lfd_ = -1, tfd_ = -1;
  std::vector<std::unique_ptr<Conn>> slots_;
  std::vector<uint32_t> free_, to_free_;
  std::priority_queue<Tick, std::vector<Tick>, std::greater<Tick>> ticks_;
};

std::string Server::delta_event(Shape shape) const {
  if (shape == Shape::kGuest) {
    return "data: {\"type\": \"chat:completion\", \"data\": {\"delta_content\": \"" + o_.text +
           "\", \"phase\": \"answer\"}}\n\n";
  }
  return "data: {\"id\":\"20260313050242595b2cb031a74737\",\"created\":1773349362,\"model\":"
         "\"glm-4.6\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"" +
         o_.text + "\"}}]}\n\n";
}

std::string Server::end_events(Shape shape) const {
  if (shape == Shape::kGuest) {
    return "data: {\"type\": \"chat:completion\", \"data\": {\"usage\": {\"prompt_tokens\": 15, "
           "\"completion_tokens\": 6, \"total_tokens\": 21}, \"phase\": \"other\"}}\n\n"
           "data: {\"type\": \"chat:completion\", \"data\": {\"done\": true, \"delta_content\": "
           "\"\", \"phase\": \"done\"}}\n\n";
  }
  return "data: {\"id\":\"20260313050242595b2cb031a74737\",\"created\":1773349362,\"model\":"
         "\"glm-4.6\",\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"delta\":{\"role\":"
         "\"assistant\",\"content\":\"\"}}],\"usage\":{\"prompt_tokens\":15,\"completion_tokens\":"
         "7,\"total_tokens\":22}}\n\ndata: [DONE]\n\n";
}

void Server::accept_all() {
  for (;;) {
    const int fd = accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
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
    slots_[slot]->slot = slot;
    slots_[slot]->fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = slot;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void Server::close_conn(Conn& c) {
  if (c.fd < 0) return;
  epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
  close(c.fd);
  c.fd = -1;
  ++c.gen;
  to_free_.push_back(c.slot);
}

void Server::flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    const ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return close_conn(c);
  }
  if (c.out_off == c.out.size()) {
    c.out.clear();
    c.out_off = 0;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (c.out.empty() ? 0u : EPOLLOUT);
  ev.data.u64 = c.slot;
  epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
}

void Server::respond(Conn& c, const std::string& bytes) {
  c.out += bytes;
  flush(c);
}

void Server::send_tick(Conn& c) {
  std::string payload = delta_event(c.shape);
  ++c.sent_chunks;
  const bool last = c.sent_chunks >= o_.chunks;
  if (last) payload += end_events(c.shape);
  std::string bytes = chunk(payload);
  if (last) {
    bytes += "0\r\n\r\n";
    c.streaming = false;
    ++c.gen;
  } else {
    ticks_.push({now_ns() + int64_t{o_.interval_ms} * 1000000, c.slot, c.gen});
  }
  respond(c, bytes);
  if (!last || c.fd < 0) return;
  if (!c.in.empty()) on_request(c);  // a request sent while streaming
}

// Request: head "\r\n\r\n" then Content-Length bytes of body.
void Server::on_request(Conn& c) {
  const size_t head_end = c.in.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    if (c.in.size() > 65536) close_conn(c);
    return;
  }
  std::string head = c.in.substr(0, head_end);
  for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  size_t length = 0;
  const size_t cl = head.find("\r\ncontent-length:");
  if (cl != std::string::npos) length = std::strtoull(head.c_str() + cl + 17, nullptr, 10);
  if (c.in.size() < head_end + 4 + length) return;
  const std::string body = c.in.substr(head_end + 4, length);
  c.in.erase(0, head_end + 4 + length);
  const std::string target = head.substr(0, head.find("\r\n"));  // method path version
  const bool get = target.rfind("get ", 0) == 0;
  const std::string path =
      target.substr(target.find(' ') + 1, target.rfind(' ') - target.find(' ') - 1);
  const auto ends_with = [&](const char* s) {
    const size_t n = std::strlen(s);
    return path.size() >= n && path.compare(path.size() - n, n, s) == 0;
  };
  if (get && ends_with("/api/v1/auths/")) {
    const std::string json =
        "{\"id\":\"bench-guest\",\"email\":\"guest@bench.local\",\"role\":\"guest\",\"token\":"
        "\"eyJhbGciOiJIUzI1NiJ9.eyJpZCI6ImJlbmNoIn0.c2lnbmF0dXJl\",\"token_type\":\"Bearer\"}";
    return respond(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(json.size()) + "\r\n\r\n" + json);
  }
  if (get || !ends_with("/chat/completions")) {
    return respond(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  }
  const bool guest = ends_with("/api/chat/completions") && path.find("/paas/") == std::string::npos;
  std::string compact;
  for (char ch : body)
    if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') compact += ch;
  if (!guest && compact.find("\"stream\":true") == std::string::npos) {
    std::string answer;
    for (int i = 0; i < o_.chunks; ++i) answer += o_.text;
    const std::string json =
        "{\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"message\":{\"content\":\"" +
        answer +
        "\",\"role\":\"assistant\"}}],\"created\":1773349362,\"id\":\"20260313050242595b2cb031a"
        "74737\",\"model\":\"glm-4.6\",\"object\":\"chat.completion\",\"usage\":{\"completion_"
        "tokens\":7,\"prompt_tokens\":15,\"total_tokens\":22}}";
    return respond(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(json.size()) + "\r\n\r\n" + json);
  }
  c.streaming = true;
  c.shape = guest ? Shape::kGuest : Shape::kApi;
  c.sent_chunks = 0;
  ++c.gen;
  ticks_.push({now_ns() + int64_t{o_.interval_ms} * 1000000, c.slot, c.gen});
  respond(c,
          "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
          "Transfer-Encoding: chunked\r\n\r\n");
}

void Server::on_event(Conn& c, uint32_t events) {
  if (events & EPOLLOUT) flush(c);
  if (c.fd < 0 || !(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
  char buf[65536];
  for (;;) {
    const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return close_conn(c);
  }
  if (!c.streaming) on_request(c);
}

int Server::run(const sockaddr_in& addr) {
  lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(lfd_, 4096) != 0) {
    std::fprintf(stderr, "paced_upstream: cannot listen: %s\n", std::strerror(errno));
    return 1;
  }
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = UINT64_MAX;
  epoll_ctl(ep_, EPOLL_CTL_ADD, lfd_, &ev);
  ev.data.u64 = UINT64_MAX - 1;
  epoll_ctl(ep_, EPOLL_CTL_ADD, tfd_, &ev);
  std::vector<epoll_event> events(1024);
  while (!g_stop) {
    itimerspec its{};
    if (!ticks_.empty()) {
      const int64_t due = std::max<int64_t>(ticks_.top().due_ns, 1);
      its.it_value.tv_sec = due / 1000000000;
      its.it_value.tv_nsec = due % 1000000000;
    }
    timerfd_settime(tfd_, TFD_TIMER_ABSTIME, &its, nullptr);
    const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 1000);
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == UINT64_MAX) {
        accept_all();
      } else if (id == UINT64_MAX - 1) {
        uint64_t expirations;
        (void)!read(tfd_, &expirations, sizeof expirations);
      } else if (slots_[id]->fd >= 0) {
        on_event(*slots_[id], events[i].events);
      }
    }
    const int64_t t = now_ns();
    while (!ticks_.empty() && ticks_.top().due_ns <= t) {
      const Tick tick = ticks_.top();
      ticks_.pop();
      Conn* c = slots_[tick.slot].get();
      if (c && c->fd >= 0 && c->gen == tick.gen && c->streaming) send_tick(*c);
    }
    for (uint32_t s : to_free_) {
      slots_[s].reset();
      free_.push_back(s);
    }
    to_free_.clear();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = std::atoi(v.c_str());
    else if (a == "--chunks")
      o.chunks = std::max(1, std::atoi(v.c_str()));
    else if (a == "--interval-ms")
      o.interval_ms = std::max(0, std::atoi(v.c_str()));
    else if (a == "--text")
      o.text = v;
    else {
      std::fprintf(stderr, "paced_upstream: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  if (o.port <= 0 || inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1 ||
      (ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
    std::fprintf(stderr, "paced_upstream: need --port and a loopback --host\n");
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  Server server(o);
  return server.run(addr);
}
