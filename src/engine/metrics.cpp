#include "engine/metrics.h"

#include <cstdio>
#include <cstdlib>

namespace zproxy {

std::string_view route_name(Route r) {
  switch (r) {
    case Route::kChatCompletions: return "chat_completions";
    case Route::kMessages: return "messages";
    case Route::kCountTokens: return "count_tokens";
    case Route::kResponses: return "responses";
    case Route::kUsage: return "usage";
    case Route::kAdmin: return "admin";
    case Route::kModels: return "models";
    case Route::kHealthz: return "healthz";
    case Route::kReadyz: return "readyz";
    case Route::kMetrics: return "metrics";
    case Route::kOther: return "other";
  }
  return "other";
}

namespace {

constexpr std::array<std::string_view, kAttemptOutcomeCount> kOutcomeNames = {
    "ok", "dead", "cooldown", "transient", "client_fault", "upstream_wide", "timeout", "cancelled"};

size_t mode_index(UpstreamMode m) {
  return m == UpstreamMode::kGuest ? 0 : 1;
}

// 15 significant digits, or 17 when 15 do not read back as v: a _sum is a counter that rate()
// differentiates, so it must not round (at 6 digits, past 10^6 s it moved in steps of 10 s).
std::string number(double v) {
  char buf[40];
  for (const int digits : {15, 17}) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

void Histogram::observe(double seconds) {
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  if (i < kBounds.size()) ++buckets_[i];
  ++count_;
  sum_ += seconds;
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i];
    out.append(name).append("_bucket{").append(labels).append(sep);
    out.append("le=\"").append(number(kBounds[i])).append("\"} ");
    out.append(std::to_string(cumulative)).append("\n");
  }
  out.append(name).append("_bucket{").append(labels).append(sep).append("le=\"+Inf\"} ");
  out.append(std::to_string(count_)).append("\n");
  std::string braces;  // built by appends: GCC 12 misreads "{" + string + "}" (-Wrestrict)
  if (!labels.empty()) braces.append("{").append(labels).append("}");
  out.append(name).append("_sum").append(braces).append(" ").append(number(sum_)).append("\n");
  out.append(name).append("_count").append(braces).append(" ");
  out.append(std::to_string(count_)).append("\n");
}

void Metrics::request_done(Route route, int status, double seconds) {
  ++requests_[{route, status}];
  durations_[static_cast<size_t>(route)].observe(seconds);
}

void Metrics::first_token(UpstreamMode mode, double seconds) {
  ttft_[mode_index(mode)].observe(seconds);
}

void Metrics::attempt(UpstreamMode mode, AttemptOutcome outcome) {
  ++attempts_[mode_index(mode)][static_cast<size_t>(outcome)];
}

void Metrics::retry(UpstreamMode mode) {
  ++retries_[mode_index(mode)];
}

void Metrics::token_fetch(bool ok) {
  ++(ok ? fetch_ok_ : fetch_failed_);
}

std::string Metrics::render(UpstreamMode mode, const PoolCounts& pool) const {
  std::string out;
  header(out, "zproxy_requests_total", "counter", "Requests by route and status.");
  for (const auto& [key, n] : requests_) {
    out.append("zproxy_requests_total{route=\"").append(route_name(key.first));
    out.append("\",status=\"").append(std::to_string(key.second)).append("\"} ");
    out.append(std::to_string(n)).append("\n");
  }
  header(out, "zproxy_request_duration_seconds", "histogram", "Request duration by route.");
  for (size_t r = 0; r < kRouteCount; ++r) {
    const std::string labels = "route=\"" + std::string(route_name(static_cast<Route>(r))) + "\"";
    durations_[r].render(out, "zproxy_request_duration_seconds", labels);
  }
  header(out, "zproxy_time_to_first_token_seconds", "histogram",
         "Time from request start to the first streamed token.");
  ttft_[0].render(out, "zproxy_time_to_first_token_seconds", "mode=\"guest\"");
  ttft_[1].render(out, "zproxy_time_to_first_token_seconds", "mode=\"api\"");
  header(out, "zproxy_upstream_attempts_total", "counter", "Upstream attempts by outcome.");
  for (size_t m = 0; m < 2; ++m) {
    for (size_t o = 0; o < kAttemptOutcomeCount; ++o) {
      out.append("zproxy_upstream_attempts_total{mode=\"").append(m == 0 ? "guest" : "api");
      out.append("\",outcome=\"").append(kOutcomeNames[o]).append("\"} ");
      out.append(std::to_string(attempts_[m][o])).append("\n");
    }
  }
  header(out, "zproxy_retries_total", "counter", "Attempts retried on another credential.");
  out.append("zproxy_retries_total{mode=\"guest\"} ").append(std::to_string(retries_[0]));
  out.append("\nzproxy_retries_total{mode=\"api\"} ").append(std::to_string(retries_[1]));
  out.append("\n");
  header(out, "zproxy_token_fetches_total", "counter", "Guest token fetches by outcome.");
  out.append("zproxy_token_fetches_total{outcome=\"ok\"} ").append(std::to_string(fetch_ok_));
  out.append("\nzproxy_token_fetches_total{outcome=\"failed\"} ");
  out.append(std::to_string(fetch_failed_)).append("\n");
  header(out, "zproxy_model_fallbacks_total", "counter",
         "Attempts that moved to the next model of MODEL_FALLBACKS.");
  for (const auto& [key, n] : fallbacks_) {
    out.append("zproxy_model_fallbacks_total{from=\"").append(key.first);
    out.append("\",to=\"").append(key.second).append("\"} ").append(std::to_string(n));
    out.append("\n");
  }
  header(out, "zproxy_client_limited_total", "counter",
         "Client-key requests refused by one of the key's limits.");
  for (const auto& [key, n] : client_limited_) {
    out.append("zproxy_client_limited_total{key=\"").append(key.first);
    out.append("\",limit=\"").append(key.second).append("\"} ").append(std::to_string(n));
    out.append("\n");
  }
  header(out, "zproxy_client_tokens_total", "counter", "Tokens charged to each client key.");
  for (const auto& [key, n] : client_tokens_) {
    out.append("zproxy_client_tokens_total{key=\"").append(key).append("\"} ");
    out.append(std::to_string(n)).append("\n");
  }
  header(out, "zproxy_state_store_up", "gauge",
         "1 while the shared state store answers (memory: always 1).");
  out.append("zproxy_state_store_up{backend=\"").append(store_backend_).append("\"} ");
  out.append(store_backend_ == "memory" || store_up_ ? "1\n" : "0\n");
  header(out, "zproxy_state_store_errors_total", "counter",
         "State-store operations that failed, by operation and reason.");
  for (const auto& [k, n] : store_errors_) {
    out.append("zproxy_state_store_errors_total{backend=\"").append(store_backend_);
    out.append("\",op=\"").append(k.first).append("\",reason=\"").append(k.second);
    out.append("\"} ").append(std::to_string(n)).append("\n");
  }
  header(out, "zproxy_state_fallback_total", "counter",
         "State-store operations decided by local memory instead.");
  for (const auto& [op, n] : store_fallbacks_) {
    out.append("zproxy_state_fallback_total{op=\"").append(op).append("\"} ");
    out.append(std::to_string(n)).append("\n");
  }
  header(out, "zproxy_count_tokens_total", "counter", "count_tokens answers by source.");
  out.append("zproxy_count_tokens_total{source=\"tokenizer\"} ");
  out.append(std::to_string(counted_tokenizer_));
  out.append("\nzproxy_count_tokens_total{source=\"estimate\"} ");
  out.append(std::to_string(counted_estimate_)).append("\n");
  header(out, "zproxy_credentials", "gauge", "Credentials of the active mode by state.");
  const std::string m = std::string(to_string(mode));
  const std::pair<std::string_view, size_t> states[] = {{"healthy", pool.healthy},
                                                        {"cooling", pool.cooling},
                                                        {"dead", pool.dead},
                                                        {"fetching", pool.fetching}};
  for (const auto& [state, n] : states) {
    out.append("zproxy_credentials{mode=\"").append(m).append("\",state=\"").append(state);
    out.append("\"} ").append(std::to_string(n)).append("\n");
  }
  header(out, "zproxy_inflight_requests", "gauge", "Requests being served.");
  out.append("zproxy_inflight_requests ").append(std::to_string(inflight_)).append("\n");
  return out;
}

}  // namespace zproxy
