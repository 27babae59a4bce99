// z-ai-proxy, native host.
//
// One io_context on one thread owns one Gateway. The core is not thread-safe and is cheap, and
// a single event loop per process keeps the credential pool coherent: one view of which token
// or key is busy, cooling down or dead. Scale out with more processes, not threads. No thread
// per connection: every client connection, upstream call and timer is a coroutine on this loop.
//
// The host only moves bytes: it owns the clocks, timers, sockets and randomness, performs the
// upstream requests the core asks for, and writes the core's log lines to stderr.

#include <utility>  // before Asio (Boost 1.74)

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/sha256.h"
#include "core/version.h"
#include "healthcheck.h"
#include "host.h"
#include "listener.h"
#include "redis_client.h"
#include "session.h"
#include "upstream_client.h"

extern char** environ;

namespace zproxy::native {

namespace {

using boost::system::error_code;

constexpr auto kPollInterval = std::chrono::milliseconds(25);
constexpr int64_t kForceCloseWaitMs = 1000;  // after the grace: for the killed exchanges' logs

// CLIENT_KEYS=@/path/file.json: the file's text stands for the value. An unreadable file
// leaves a value the core refuses, naming the variable and the path.
void resolve_file_settings(EnvMap& env) {
  for (auto& [name, value] : env) {
    if (!name.starts_with("CLIENT_KEYS") || !value.starts_with("@")) continue;
    const std::string path = value.substr(1);
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof()) {
      value = "unreadable file " + path;
    } else {
      value = text.str();
    }
  }
}

EnvMap read_environment() {
  EnvMap env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view kv(*e);
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  resolve_file_settings(env);
  return env;
}

// --hash-key: the SHA-256 of a key read from stdin (one trailing newline stripped), for
// CLIENT_KEYS' key_sha256.
int hash_key() {
  std::string key((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (!key.empty() && key.back() == '\n') key.pop_back();
  if (!key.empty() && key.back() == '\r') key.pop_back();
  if (key.empty()) {
    std::fprintf(stderr, "--hash-key: no key on stdin\n");
    return 2;
  }
  std::printf("%s\n", sha256_hex(key).c_str());
  return 0;
}

// Descriptors beyond those of the client connections and their upstream calls: the listener,
// the reserve descriptor, stdio, token fetches, idle upstream connections.
constexpr rlim_t kFdMargin = 256;

// Raises the open-file limit to fit MAX_CONNECTIONS: the soft limit to the hard one, and the
// hard one as well when it is below two descriptors per connection (a streaming client holds
// an upstream connection too) and the process may raise it (CAP_SYS_RESOURCE). Returns a
// warning when the limit cannot fit even one per connection, else "".
std::string raise_fd_limit(size_t max_connections) {
  const rlim_t wanted = 2 * static_cast<rlim_t>(max_connections) + kFdMargin;
  const rlim_t needed = static_cast<rlim_t>(max_connections) + kFdMargin;
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return {};
  if (r.rlim_max != RLIM_INFINITY && r.rlim_max < wanted) {
    const rlimit higher{wanted, wanted};
    if (setrlimit(RLIMIT_NOFILE, &higher) == 0) r = higher;
  }
  if (r.rlim_cur < r.rlim_max) {
    const rlimit all{r.rlim_max, r.rlim_max};
    const rlimit enough{std::max(r.rlim_cur, std::min(wanted, r.rlim_max)), r.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &all) == 0) {
      r = all;
    } else if (setrlimit(RLIMIT_NOFILE, &enough) == 0) {  // unlimited is refused above nr_open
      r = enough;
    }
  }
  if (r.rlim_cur >= needed) return {};
  return "the open-file limit (" + std::to_string(r.rlim_cur) + ") is below the " +
         std::to_string(needed) + " that MAX_CONNECTIONS=" + std::to_string(max_connections) +
         " needs (one per connection plus " + std::to_string(kFdMargin) +
         "); when descriptors run out, new connections get 503";
}

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: z-ai-proxy [--help | --version | --healthcheck | --hash-key]\n"
               "  (no option)     serve; settings come from the environment\n"
               "  --help          this text and every setting with its default\n"
               "  --version       print the version\n"
               "  --healthcheck   probe http://127.0.0.1:$PORT/healthz; exit 0 when healthy\n"
               "  --hash-key      print the SHA-256 of a client key read from stdin\n");
}

asio::awaitable<void> sleep_for(asio::io_context& io, std::chrono::milliseconds d) {
  asio::steady_timer t(io);
  t.expires_after(d);
  error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Polls until no exchange is open, `end` (monotonic ms) passes or `*stop` turns true; closes
// connections that wait between requests on every round when `close_idle` is set.
asio::awaitable<void> drain(Host& host, Sessions& sessions, int64_t end, bool close_idle,
                            std::shared_ptr<bool> stop) {
  while (host.gw().open_exchanges() > 0 && now_ms() < end && !*stop) {
    if (close_idle) {
      for (Session* s : std::vector<Session*>(sessions.open.begin(), sessions.open.end())) {
        s->close_if_idle();
      }
    }
    co_await sleep_for(host.io(), kPollInterval);
  }
}

// SIGTERM/SIGINT: stop accepting, let open exchanges finish within SHUTDOWN_GRACE_S, then end
// the loop. A second signal cuts the grace short.
asio::awaitable<void> shutdown_on_signal(asio::signal_set& signals, Host& host, Listener& listener,
                                         Sessions& sessions) {
  error_code ec;
  const int sig = co_await signals.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  Gateway& gw = host.gw();
  listener.close();
  sessions.draining = true;
  gw.begin_shutdown();
  gw.log(LogLevel::kInfo, "shutdown_started",
         std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + ": " +
             std::to_string(gw.open_exchanges()) + " open request(s), grace " +
             std::to_string(gw.config().shutdown_grace_ms) + " ms",
         wall_ms());
  host.poll();
  const auto forced = std::make_shared<bool>(false);
  signals.async_wait([forced](const error_code& e, int) { *forced = *forced || !e; });
  co_await drain(host, sessions, now_ms() + gw.config().shutdown_grace_ms, true, forced);
  const size_t cut = gw.open_exchanges();
  for (Session* s : std::vector<Session*>(sessions.open.begin(), sessions.open.end())) {
    s->close_now();  // their exchanges end as if the clients left, and log so
  }
  const auto never = std::make_shared<bool>(false);
  co_await drain(host, sessions, now_ms() + kForceCloseWaitMs, false, never);
  // The last settlements reach the shared store (each call ends by its own timeout at worst).
  host.poll();
  const int64_t store_end = now_ms() + gw.config().state.timeout_ms + kForceCloseWaitMs;
  while (gw.store_calls_pending() > 0 && now_ms() < store_end) {
    co_await sleep_for(host.io(), kPollInterval);
  }
  gw.log(LogLevel::kInfo, "shutdown",
         cut == 0 ? std::string("all requests finished")
                  : std::to_string(cut) + " request(s) cut at the end of the grace period",
         wall_ms());
  host.stop();
  host.poll();  // the last lines; stop() started nothing new
  host.io().stop();
}

// SIGHUP: the client keys again (CLIENT_KEYS=@file is re-read); open requests keep theirs.
asio::awaitable<void> reload_on_hangup(asio::signal_set& hangups, Host& host) {
  for (;;) {
    error_code ec;
    co_await hangups.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    host.gw().reload_client_keys(read_environment(), wall_ms());
    host.poll();
  }
}

// STATE_STORE=redis: the connection's settings, from the configuration the core resolved.
RedisSettings redis_settings(const Config& cfg) {
  const StateSettings& st = cfg.state;
  RedisSettings s;
  s.tls = st.redis.tls;
  s.host = st.redis.host;
  s.port = st.redis.port;
  s.user = st.redis.user;
  s.password = st.redis.password;
  s.db = st.redis.db;
  s.ca_file = st.redis_ca_file;
  s.key_prefix = st.key_prefix;
  s.backoff_max_ms = st.backoff_max_ms;
  s.connect_timeout_ms = cfg.connect_timeout_ms;
  return s;
}

int serve(const EnvMap& env) {
  Gateway gw(env, kNativeLimits, now_ms(), wall_ms());
  const auto take_logs = [&gw] { return gw.poll(now_ms()).logs; };
  if (const Error* e = gw.config_error()) {
    std::string logs = take_logs();  // the gateway logs its configuration error itself
    if (logs.empty()) {
      gw.log(LogLevel::kError, "invalid_config", e->message, wall_ms());
      logs = take_logs();
    }
    write_stderr(logs);
    return 2;
  }
  const std::string fd_warning = raise_fd_limit(gw.config().max_connections);
  if (!fd_warning.empty()) gw.log(LogLevel::kWarn, "fd_limit", fd_warning, wall_ms());
  // Start-up warnings stay with the gateway until the host's first poll, which also starts the
  // first token fetches: a poll hands its jobs over once.
  asio::io_context io(1);
  auto client = UpstreamClient::create(io, gw.config());
  if (!client) {
    gw.log(LogLevel::kError, "invalid_config", client.error().message, wall_ms());
    write_stderr(take_logs());
    return 2;
  }
  Host host(io, gw, **client);
  // The store connects in the background: serving never waits for it (calls made meanwhile
  // fail or wait within their own timeouts, and the core decides locally).
  std::unique_ptr<RedisClient> store;
  if (gw.config().state.backend == StateBackend::kRedis) {
    auto made = RedisClient::create(io, redis_settings(gw.config()));
    if (!made) {
      gw.log(LogLevel::kError, "invalid_config", made.error().message, wall_ms());
      write_stderr(take_logs());
      return 2;
    }
    store = std::move(*made);
    host.set_store(store.get());
    store->start();
  }
  Sessions sessions;
  Listener listener(host, sessions);
  if (Status st = listener.open(gw.config().host, gw.config().port); !st) {
    gw.log(LogLevel::kError, "listen_failed", st.error().message, wall_ms());
    write_stderr(take_logs());
    return st.error().code == Errc::kInvalidConfig ? 2 : 1;
  }
  gw.log(LogLevel::kInfo, "started",
         std::string("z-ai-proxy ") + kVersion + " listening on " + listener.local_endpoint() +
             " (" + std::string(to_string(gw.config().mode)) + " mode)",
         wall_ms());
  host.poll();        // starts the first token fetches
  host.flush_logs();  // at once: operators and supervisors watch for this line
  asio::signal_set signals(io, SIGTERM, SIGINT);
  asio::co_spawn(io, listener.run(), asio::detached);
  asio::co_spawn(io, shutdown_on_signal(signals, host, listener, sessions), asio::detached);
  asio::signal_set hangups(io, SIGHUP);
  asio::co_spawn(io, reload_on_hangup(hangups, host), asio::detached);
  io.run();
  write_stderr(take_logs());
  // Suspended coroutines still reference the gateway, the client and the sessions; tearing
  // them down one by one buys nothing at exit. The OS reclaims the rest.
  std::fflush(nullptr);
  std::_Exit(0);
}

}  // namespace

}  // namespace zproxy::native

int main(int argc, char** argv) {
  using namespace zproxy;
  std::signal(SIGPIPE, SIG_IGN);  // a closed stderr or socket is an error code, not a kill
  if (argc > 2) {
    native::print_usage(stderr);
    return 2;
  }
  const std::string_view arg = argc == 2 ? argv[1] : "";
  if (arg == "--help" || arg == "-h") {
    native::print_usage(stdout);
    std::printf("\n%s", config_help().c_str());
    return 0;
  }
  if (arg == "--version") {
    std::printf("z-ai-proxy %s\n", kVersion);
    return 0;
  }
  if (arg == "--healthcheck") return native::run_healthcheck(native::read_environment());
  if (arg == "--hash-key") return native::hash_key();
  if (!arg.empty()) {
    std::fprintf(stderr, "unknown option: %s\n", argv[1]);
    native::print_usage(stderr);
    return 2;
  }
  return native::serve(native::read_environment());
}
