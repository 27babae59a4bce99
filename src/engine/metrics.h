#pragma once
// Prometheus metrics of docs/contract.md §9. Label values are always from fixed sets (never
// client-chosen strings), so every series is known up front and the registry is a few arrays.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "config/config.h"
#include "pool/credential_pool.h"

namespace zproxy {

enum class Route : uint8_t {
  kChatCompletions,
  kMessages,
  kCountTokens,
  kResponses,
  kUsage,
  kAdmin,
  kModels,
  kHealthz,
  kReadyz,
  kMetrics,
  kOther
};
inline constexpr size_t kRouteCount = 11;
std::string_view route_name(Route r);

// Upstream attempt outcomes: "ok" plus one per Verdict, and "timeout".
enum class AttemptOutcome : uint8_t {
  kOk,
  kDead,
  kCooldown,
  kTransient,
  kClientFault,
  kUpstreamWide,
  kTimeout,
  kCancelled
};
inline constexpr size_t kAttemptOutcomeCount = 8;

class Histogram {
 public:
  void observe(double seconds);
  // Appends the bucket, sum and count lines for `name{labels}`.
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  static constexpr std::array<double, 14> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                     1,     2.5,  5,     10,   30,  60,   120};
  std::array<uint64_t, kBounds.size()> buckets_{};  // non-cumulative counts per bucket
  uint64_t count_ = 0;
  double sum_ = 0;
};

class Metrics {
 public:
  void request_done(Route route, int status, double seconds);
  void first_token(UpstreamMode mode, double seconds);
  void attempt(UpstreamMode mode, AttemptOutcome outcome);
  void retry(UpstreamMode mode);
  void token_fetch(bool ok);
  // A count_tokens answer, from Z.AI's tokenizer or the estimate.
  // An attempt switched from one model to the next of MODEL_FALLBACKS (configured names).
  void model_fallback(const std::string& from, const std::string& to) { ++fallbacks_[{from, to}]; }
  // A client key's request refused by one of its limits ("rpm", "concurrency",
  // "tokens_per_day", "tokens_per_month"), and the tokens charged to a key.
  void client_limited(const std::string& key, std::string_view limit) {
    ++client_limited_[{key, std::string(limit)}];
  }
  void client_tokens(const std::string& key, int64_t n) { client_tokens_[key] += n; }
  // The state store (STATE_STORE): reachable or not, failed operations by reason (short
  // fixed words from the host), operations decided locally instead.
  void store_backend(std::string_view backend) { store_backend_ = std::string(backend); }
  void store_up(bool up) { store_up_ = up; }
  void store_error(std::string_view op, std::string_view reason) {
    ++store_errors_[{std::string(op), std::string(reason)}];
  }
  void store_fallback(std::string_view op) { ++store_fallbacks_[std::string(op)]; }
  void count_tokens(bool tokenizer) { ++(tokenizer ? counted_tokenizer_ : counted_estimate_); }
  void inflight_delta(int delta) { inflight_ += delta; }

  std::string render(UpstreamMode mode, const PoolCounts& pool) const;

 private:
  std::map<std::pair<Route, int>, uint64_t> requests_;
  std::array<Histogram, kRouteCount> durations_;
  std::array<Histogram, 2> ttft_;
  std::array<std::array<uint64_t, kAttemptOutcomeCount>, 2> attempts_{};
  std::array<uint64_t, 2> retries_{};
  uint64_t fetch_ok_ = 0;
  uint64_t fetch_failed_ = 0;
  std::map<std::pair<std::string, std::string>, uint64_t> fallbacks_;
  std::map<std::pair<std::string, std::string>, uint64_t> client_limited_;
  std::map<std::string, int64_t> client_tokens_;
  std::string store_backend_ = "memory";
  bool store_up_ = true;  // until an operation fails
  std::map<std::pair<std::string, std::string>, uint64_t> store_errors_;
  std::map<std::string, uint64_t> store_fallbacks_;
  uint64_t counted_tokenizer_ = 0;
  uint64_t counted_estimate_ = 0;
  int64_t inflight_ = 0;
};

}  // namespace zproxy
