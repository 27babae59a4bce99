#include "host.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <openssl/rand.h>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/errors.h"
#include "core/ids.h"
#include "pool/credential_pool.h"

namespace zproxy::native {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

// RAND_bytes costs a getpid() (OpenSSL's fork check) and a DRBG round per call: draw 4 KiB at a
// time and hand it out 32 bytes per exchange (each thread its own pool).
struct EntropyPool {
  std::array<uint8_t, 4096> bytes;
  size_t used = bytes.size();
};

}  // namespace

std::array<uint8_t, 32> entropy() {
  thread_local EntropyPool pool;
  std::array<uint8_t, 32> out{};
  if (pool.used + out.size() > pool.bytes.size()) {
    if (RAND_bytes(pool.bytes.data(), static_cast<int>(pool.bytes.size())) == 1) pool.used = 0;
  }
  if (pool.used + out.size() <= pool.bytes.size()) {
    std::copy_n(pool.bytes.begin() + static_cast<std::ptrdiff_t>(pool.used), out.size(),
                out.begin());
    std::fill_n(pool.bytes.begin() + static_cast<std::ptrdiff_t>(pool.used), out.size(), 0);
    pool.used += out.size();
    return out;
  }
  // OpenSSL's generator failed (it practically never does): ask the kernel directly.
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = getrandom(out.data() + got, out.size() - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
    if (n < 0 && errno != EINTR) break;
  }
  return out;
}

void write_stderr(std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stderr is gone: nothing sensible left to do with log lines
    text.remove_prefix(static_cast<size_t>(n));
  }
}

namespace {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

}  // namespace

std::string host_error_response(const Config& config, int status, std::string_view message,
                                int retry_after_s) {
  const Errc code = host_errc(status);
  const std::string body = error_json(make_error(code, std::string(message)));
  const auto seed = entropy();
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out += reason_phrase(status);
  out += "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size());
  out += "\r\nConnection: close\r\nX-Request-Id: req_" + IdSource(seed).alnum(24) + "\r\n";
  for (const std::string& origin : config.cors_origins) {
    if (origin == "*") out += "Access-Control-Allow-Origin: *\r\n";
  }
  if (retry_after_s > 0) out += "Retry-After: " + std::to_string(retry_after_s) + "\r\n";
  out += "\r\n";
  out += body;
  return out;
}

void Waker::notify() {
  pending_ = true;
  event_.cancel();
}

asio::awaitable<void> Waker::wait_until(int64_t deadline) {
  if (pending_) {
    pending_ = false;
    co_return;
  }
  if (deadline != kNever && now_ms() >= deadline) co_return;
  hook_ = nullptr;
  due_ = deadline;
  if (deadline != kNever && deadline < armed_at_) arm(deadline);
  event_.expires_at(std::chrono::steady_clock::time_point::max());
  boost::system::error_code ec;  // operation_aborted is the notify() path
  co_await event_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  pending_ = false;
  due_ = kNever;
}

void Waker::arm(int64_t at) {
  armed_at_ = at;
  const uint64_t gen = ++gen_;
  deadline_.expires_at(std::chrono::steady_clock::time_point(std::chrono::milliseconds(at)));
  deadline_.async_wait([this, alive = std::weak_ptr<char>(alive_), gen](
                           const boost::system::error_code&) {
    if (alive.lock()) on_deadline_timer(gen);
  });
}

void Waker::cancel_timer() {
  ++gen_;
  armed_at_ = kNever;
  deadline_.cancel();
}

void Waker::call_at(int64_t deadline, std::function<void()> hook) {
  if (deadline != kNever && now_ms() >= deadline) {
    clear_due();
    hook();
    return;
  }
  hook_ = std::move(hook);
  due_ = deadline;
  if (deadline != kNever && deadline < armed_at_) arm(deadline);
}

void Waker::clear_due() {
  due_ = kNever;
  hook_ = nullptr;
}

void Waker::on_deadline_timer(uint64_t gen) {
  if (gen != gen_) return;  // re-armed for an earlier time meanwhile
  armed_at_ = kNever;
  if (due_ == kNever) return;  // nobody waits (or the wait has no deadline)
  if (now_ms() < due_) {
    arm(due_);
    return;
  }
  if (hook_) {
    const std::function<void()> hook = std::move(hook_);
    clear_due();
    hook();
    return;
  }
  notify();
}

Host::Host(asio::io_context& io, Gateway& gw, UpstreamClient& upstream)
    : io_(io),
      gw_(gw),
      upstream_(upstream),
      jobs_waker_(io.get_executor()),
      log_timer_(io.get_executor()),
      seen_version_(gw.version()) {}

void Host::after_core_call(bool jobs) {
  const size_t pending = gw_.pending_log_bytes();
  if (pending >= kLogFlushBytes) {
    flush_logs();
  } else if (pending > 0 && !flush_armed_) {
    flush_armed_ = true;
    log_timer_.expires_after(std::chrono::milliseconds(kLogFlushMs));
    log_timer_.async_wait([this](const boost::system::error_code&) {
      flush_armed_ = false;
      flush_logs();
    });
  }
  const uint64_t v = gw_.version();
  if (v != seen_version_) {
    seen_version_ = v;
    for (Waker* w : waiters_) w->notify();
    jobs = true;
  }
  if (!jobs) return;
  // Every finished request moves the version; the job loop only needs to run when a fetch is
  // due or the pool's next deadline comes before the one it sleeps until.
  const int64_t now = now_ms();
  if (gw_.jobs_due(now) || gw_.next_deadline(now) < jobs_sleep_until_) jobs_waker_.notify();
}

void Host::flush_logs() {
  const std::string logs = gw_.take_logs();
  if (!logs.empty()) write_stderr(logs);
}

void Host::stop() {
  stopping_ = true;
  jobs_waker_.notify();
}

}  // namespace zproxy::native
