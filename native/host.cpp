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

#include "core/ascii.h"
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

EarlyReads& early_reads(EarlyReads::Site site) {
  thread_local std::array<EarlyReads, EarlyReads::kSites> sites;
  return sites[site];
}

ReadScratch& read_scratch() {
  thread_local std::unique_ptr<ReadScratch> scratch = std::make_unique<ReadScratch>();
  return *scratch;
}

char* claim_scratch(ScratchHolder* user) {
  ReadScratch& s = read_scratch();
  if (s.holder != nullptr && s.holder != user) s.holder->spill();
  s.holder = user;
  return s.in.data();
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
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

// Framing belongs to the host: header fields the core produced that would break it are dropped.
bool response_header_ok(const Header& h) {
  for (std::string_view v : {std::string_view(h.name), std::string_view(h.value)}) {
    for (const char c : v) {
      if (c == '\r' || c == '\n' || c == '\0') return false;
    }
  }
  for (std::string_view own : {"content-length", "transfer-encoding", "connection"}) {
    if (iequals(h.name, own)) return false;
  }
  return !h.name.empty();
}

}  // namespace

void append_response_head(std::string& out, int status, const std::vector<Header>& headers) {
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  for (const Header& x : headers) {
    if (!response_header_ok(x)) continue;
    out.append(x.name).append(": ").append(x.value).append("\r\n");
  }
}

std::string host_error_response(const Gateway& gw, int status, std::string_view message,
                                int retry_after_s) {
  const Errc code = host_errc(status);
  const auto seed = entropy();
  const Answer a = gw.host_answer(status, make_error(code, std::string(message)), retry_after_s,
                                  "req_" + IdSource(seed).alnum(24));
  std::string out;
  out.reserve(256 + a.body.size());
  append_response_head(out, a.status, a.headers);
  out += "Content-Length: " + std::to_string(a.body.size());
  out += "\r\nConnection: close\r\n\r\n";
  out += a.body;
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
  deadline_.async_wait(
      [this, alive = std::weak_ptr<char>(alive_), gen](const boost::system::error_code&) {
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
      poll_timer_(io.get_executor()),
      log_timer_(io.get_executor()) {}

void Host::poll() {
  if (stopping_) {  // the last log lines still go out; nothing new starts
    logs_ += gw_.poll(now_ms()).logs;
    flush_logs();
    return;
  }
  const int64_t now = now_ms();
  Poll p = gw_.poll(now);
  if (!p.logs.empty()) {
    logs_ += p.logs;
    if (logs_.size() >= kLogFlushBytes) {
      flush_logs();
    } else if (!flush_armed_) {
      flush_armed_ = true;
      log_timer_.expires_after(std::chrono::milliseconds(kLogFlushMs));
      log_timer_.async_wait([this](const boost::system::error_code&) {
        flush_armed_ = false;
        flush_logs();
      });
    }
  }
  if (p.changed) {
    for (Waker* w : waiters_) w->notify();
  }
  for (Job& job : p.jobs) start_job(*this, std::move(job));
  if (p.next_deadline == kNever) {
    poll_timer_.clear_due();
  } else {  // never at once from here: a deadline that stays due must not recurse
    poll_timer_.call_at(std::max(p.next_deadline, now + 1), [this] { poll(); });
  }
}

void Host::flush_logs() {
  if (logs_.empty()) return;
  write_stderr(logs_);
  logs_.clear();
}

void Host::stop() {
  stopping_ = true;
  poll_timer_.clear_due();
  poll_timer_.cancel_timer();
}

}  // namespace zproxy::native
