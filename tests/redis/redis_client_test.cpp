// The native Redis client (native/redis_client.h) against a real redis-server: TLS with a CA
// made for the test, AUTH, pipelined calls, the NOSCRIPT reload, and its failure reasons.

#include <catch2/catch.hpp>

#include <utility>  // before Asio (Boost 1.74)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "native/redis_client.h"
#include "state/redis_ops.h"
#include "support/redis_server.h"

namespace zproxy {

namespace {

namespace asio = boost::asio;
using native::RedisClient;
using native::RedisSettings;

// A result kept past the callback (StoreResult::error views static text).
struct Outcome {
  bool ok = false;
  std::string error;
  StoreReply reply;
};

// One client on its own io_context; drives the loop until the calls made are answered.
class Harness {
 public:
  explicit Harness(RedisSettings s) : guard_(io_.get_executor()) {
    auto made = RedisClient::create(io_, std::move(s));
    if (made.ok()) client_ = std::move(*made);
  }
  ~Harness() {
    if (client_) client_->stop();
    guard_.reset();
    io_.run_for(std::chrono::seconds(2));  // let its coroutines end before it goes
  }
  RedisClient& client() { return *client_; }
  bool created() const { return client_ != nullptr; }

  std::optional<Outcome>& call(StoreOp op, int64_t timeout_ms = 3000) {
    outcomes_.emplace_back();
    const size_t i = outcomes_.size() - 1;
    client_->perform(StoreCall{std::move(op), timeout_ms}, [this, i](const StoreResult& r) {
      outcomes_[i] = Outcome{r.ok, std::string(r.error), r.reply};
    });
    return outcomes_[i];
  }
  // Runs the loop until every call made so far has its outcome, or `ms` pass.
  bool settle(int64_t ms = 8000) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
      bool all = true;
      for (const auto& o : outcomes_) all = all && o.has_value();
      if (all) return true;
      io_.run_for(std::chrono::milliseconds(5));
    }
    return false;
  }
  void run_for(int64_t ms) { io_.run_for(std::chrono::milliseconds(ms)); }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::unique_ptr<RedisClient> client_;
  std::deque<std::optional<Outcome>> outcomes_;  // stable addresses
};

StoreOp admit_op(std::string key, std::string lease, std::optional<int64_t> rpm = 5) {
  StoreOp op;
  op.kind = StoreOpKind::kAdmit;
  op.key = std::move(key);
  op.lease = std::move(lease);
  op.ttl_ms = 30000;
  op.limits.rpm = rpm;
  return op;
}

StoreOp usage_op(std::string key) {
  StoreOp op;
  op.kind = StoreOpKind::kUsage;
  op.key = std::move(key);
  return op;
}

// A port on 127.0.0.1 held by this process: listening (the kernel accepts, nobody answers),
// or bound only (connections are refused).
struct HeldPort {
  explicit HeldPort(bool listening) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        (!listening || ::listen(fd, 8) == 0) &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
  }
  ~HeldPort() { ::close(fd); }
  int fd = -1;
  int port = 0;
};

}  // namespace

TEST_CASE("Redis client: TLS, AUTH, admit and usage", "[redis][native]") {
  const std::string password = "pw-7f3a9c1e-test-only";
  test::RedisServer server({true, password});
  REQUIRE(server.error() == "");
  RedisSettings s;
  s.tls = true;
  s.host = "localhost";
  s.port = server.port();
  s.password = password;
  s.ca_file = server.ca_file();
  s.key_prefix = "t:";

  SECTION("the right password") {
    Harness h(s);
    REQUIRE(h.created());
    h.client().start();
    auto& admitted = h.call(admit_op("team-a", "l1"));
    auto& usage = h.call(usage_op("team-a"));
    REQUIRE(h.settle());
    INFO(admitted->error);
    REQUIRE(admitted->ok);
    CHECK(admitted->reply.admission.refused == Limit::kNone);
    CHECK(admitted->reply.admission.rpm_remaining == 4);
    CHECK(admitted->reply.admission.rpm_reset_ms == 60000);
    REQUIRE(usage->ok);
    CHECK(usage->reply.usage.requests_this_window == 1);
    CHECK(usage->reply.usage.concurrent == 1);
  }

  SECTION("a wrong password: \"auth\", and the password is nowhere") {
    s.password = "not-the-" + password;
    Harness h(s);
    REQUIRE(h.created());
    h.client().start();
    auto& first = h.call(usage_op("team-a"));
    REQUIRE(h.settle());
    CHECK_FALSE(first->ok);
    CHECK(first->error == "auth");
    // During the backoff at once; after it, from the next attempt: the same reason.
    auto& later = h.call(usage_op("team-a"));
    REQUIRE(h.settle());
    CHECK(later->error == "auth");
    for (const auto* o : {&*first, &*later}) {
      CHECK(o->error.find(password) == std::string::npos);
      CHECK(o->error.find("not-the-") == std::string::npos);
    }
  }

  SECTION("a server certificate the client does not trust: \"tls\"") {
    s.ca_file.clear();  // the system bundle does not know the test CA
    Harness h(s);
    REQUIRE(h.created());
    h.client().start();
    auto& r = h.call(usage_op("team-a"));
    REQUIRE(h.settle());
    CHECK(r->error == "tls");
  }
}

TEST_CASE("Redis client: pipelined calls answered in order, NOSCRIPT reloads", "[redis][native]") {
  test::RedisServer server;
  REQUIRE(server.error() == "");
  RedisSettings s;
  s.host = "127.0.0.1";
  s.port = server.port();
  s.db = 3;
  Harness h(s);
  REQUIRE(h.created());
  h.client().start();

  std::vector<std::optional<Outcome>*> admits;
  for (int i = 0; i < 12; ++i) {
    admits.push_back(&h.call(admit_op("k", "lease-" + std::to_string(i), 10)));
  }
  REQUIRE(h.settle());
  for (size_t i = 0; i < admits.size(); ++i) {
    INFO("admit " << i);
    REQUIRE((*admits[i])->ok);
    // Replies in order: the i-th admission saw i before it, the 11th and 12th are refused.
    const Admission& a = (*admits[i])->reply.admission;
    if (i < 10) {
      CHECK(a.refused == Limit::kNone);
      CHECK(a.rpm_remaining == static_cast<int64_t>(9 - i));
    } else {
      CHECK(a.refused == Limit::kRpm);
    }
  }
  // The keys went to db 3.
  test::BlockingRedis direct(server.port());
  CHECK(direct.call({"SELECT", "3"}).type == RespValue::Type::kStatus);
  CHECK(direct.call({"EXISTS", "zp:{k:k}:c"}).integer == 1);

  // The server forgets its scripts: the next call is sent again as EVAL.
  CHECK(direct.call({"SCRIPT", "FLUSH"}).type == RespValue::Type::kStatus);
  auto& usage = h.call(usage_op("k"));
  REQUIRE(h.settle());
  INFO(usage->error);
  REQUIRE(usage->ok);
  CHECK(usage->reply.usage.requests_this_window == 10);
  CHECK(usage->reply.usage.concurrent == 10);
}

TEST_CASE("Redis client: failures are reasons, never waits", "[redis][native]") {
  SECTION("nothing listens: \"connect\"") {
    HeldPort refusing(false);
    REQUIRE(refusing.port != 0);
    RedisSettings s;
    s.host = "127.0.0.1";
    s.port = refusing.port;
    Harness h(s);
    h.client().start();
    auto& r = h.call(usage_op("a"));
    REQUIRE(h.settle());
    CHECK(r->error == "connect");
  }

  SECTION("a server that never answers: \"timeout\", then the connection is given up") {
    HeldPort silent(true);
    REQUIRE(silent.port != 0);
    RedisSettings s;
    s.host = "127.0.0.1";
    s.port = silent.port;
    s.connect_timeout_ms = 1500;
    Harness h(s);
    h.client().start();
    const auto t0 = std::chrono::steady_clock::now();
    auto& r = h.call(usage_op("a"), 150);
    REQUIRE(h.settle());
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(r->error == "timeout");
    CHECK(waited >= std::chrono::milliseconds(140));
    CHECK(waited < std::chrono::milliseconds(1400));  // its own timeout, not the attempt's
    // The attempt ends at its connect timeout; a call waiting for the next attempt fails when
    // that one does, long before its own timeout.
    auto& later = h.call(usage_op("a"), 8000);
    REQUIRE(h.settle(6000));
    CHECK(later->error == "connect");
  }

  SECTION("a reply over 1 MiB: \"reply\", and the connection is dropped") {
    HeldPort fake(true);  // a hand-played server: script SHAs, then one endless bulk string
    REQUIRE(fake.port != 0);
    RedisSettings s;
    s.host = "127.0.0.1";
    s.port = fake.port;
    Harness h(s);
    h.client().start();
    h.run_for(100);  // connected (the kernel accepted) and the hello written
    const int conn = ::accept(fake.fd, nullptr, nullptr);
    REQUIRE(conn >= 0);
    std::string shas;
    for (size_t i = 0; i < redis_script_count(); ++i)
      shas += "$40\r\n" + std::string(40, 'a') + "\r\n";
    REQUIRE(::send(conn, shas.data(), shas.size(), 0) == static_cast<ssize_t>(shas.size()));
    h.run_for(100);  // ready
    auto& r = h.call(usage_op("a"), 20000);
    std::string big = "$4000000\r\n" + std::string(1200000, 'x');
    size_t sent = 0;
    for (int round = 0; round < 2000 && sent < big.size() && !r.has_value(); ++round) {
      const ssize_t n = ::send(conn, big.data() + sent, big.size() - sent, MSG_DONTWAIT);
      if (n > 0) sent += static_cast<size_t>(n);
      h.run_for(5);
    }
    REQUIRE(h.settle());
    CHECK(r->error == "reply");
    CHECK(sent > (1u << 20));
    ::close(conn);
  }

  SECTION("a call before start() fails at once") {
    RedisSettings s;
    s.host = "127.0.0.1";
    s.port = 1;
    Harness h(s);
    auto& r = h.call(usage_op("a"));
    REQUIRE(h.settle(50));
    CHECK(r->error == "connect");
  }
}

}  // namespace zproxy
