// The process-wide part of the gateway: configuration, the credential pool and its token
// fetches, metrics, logs, and the end of every exchange.

#include "engine/gateway.h"

#include "core/version.h"
#include "engine/gateway_impl.h"
#include "engine/http.h"
#include "engine/log.h"
#include "upstream/guest/guest.h"

namespace zproxy {

namespace {

PoolSettings pool_settings(const Config& c, const HostLimits& limits) {
  PoolSettings p;
  p.target_size = c.mode == UpstreamMode::kGuest ? c.token_pool_size : 0;
  p.max_age_ms = c.mode == UpstreamMode::kGuest ? c.token_max_age_ms : 0;
  p.max_inflight = c.max_inflight_per_credential;
  p.max_parallel_fetches = limits.max_parallel_token_fetches;
  return p;
}

CredentialPool make_pool(const Config& c, const HostLimits& limits) {
  if (c.mode == UpstreamMode::kApi) {
    return CredentialPool(pool_settings(c, limits), c.zai_api_keys);
  }
  return CredentialPool(pool_settings(c, limits));
}

Config config_or_default(const Result<Config>& r) {
  if (r.ok()) return r.value();
  Config c;
  c.cors_origins = {"*"};
  c.token_pool_size = 0;
  return c;
}

}  // namespace

GatewayCore::GatewayCore(const EnvMap& env, const HostLimits& l, int64_t now, int64_t wall)
    : limits(l), config(), pool(PoolSettings{}) {
  Result<Config> loaded = load_config(env);
  config = config_or_default(loaded);
  if (!loaded) config_error = loaded.error();
  pool = make_pool(config, limits);
  started_wall = wall;
  wall_minus_mono = wall - now;
  if (config_error) {
    logs += LogLine(wall, LogLevel::kError, "invalid_config", "")
                .str("message", config_error->message)
                .done();
    return;
  }
  configure_store(*this);
  if (config_error) {
    logs += LogLine(wall, LogLevel::kError, "invalid_config", "")
                .str("message", config_error->message)
                .done();
    return;
  }
  for (const std::string& w : config.warnings) {
    emit_log(LogLevel::kWarn,
             LogLine(wall, LogLevel::kWarn, "config_warning", "").str("message", w).done());
  }
}

Gateway::Gateway(const EnvMap& env, const HostLimits& limits, int64_t now, int64_t wall)
    : impl_(std::make_unique<GatewayCore>(env, limits, now, wall)) {}
Gateway::~Gateway() = default;

const Error* Gateway::config_error() const {
  return impl_->config_error ? &*impl_->config_error : nullptr;
}
const Config& Gateway::config() const {
  return impl_->config;
}

namespace {

// How a Responses request ended, for its log line: the terminal event a stream ended with
// (or the status of the object), "error" for an HTTP error answer.
std::string_view responses_terminal(const ExchangeState& s) {
  if (s.status != 200) return "error";
  if (s.stop_reason.empty()) return "failed";  // committed, then failed
  const bool cut = s.stop_reason == "length" || s.stop_reason == "content_filter";
  return cut ? "incomplete" : "completed";
}

}  // namespace

void Gateway::finish(std::unique_ptr<Exchange> exchange, int64_t now, int64_t wall) {
  if (!exchange) return;
  ExchangeState& s = *exchange->s_;
  GatewayCore& gw = *impl_;
  const int status = s.status == 0 ? 499 : s.status;
  const double seconds = static_cast<double>(now - s.start_mono) / 1000.0;
  gw.metrics.request_done(s.route, status, seconds);
  gw.metrics.inflight_delta(-1);
  if (s.route != Route::kHealthz && s.route != Route::kReadyz && s.route != Route::kMetrics) {
    LogLine line(wall, status >= 500 ? LogLevel::kWarn : LogLevel::kInfo, "request", s.request_id);
    line.str("route", route_name(s.route)).num("status", status);
    if (s.chat) {
      line.str("model", s.chat->model).str("mode", to_string(gw.config.mode));
      if (!s.upstream_model.empty()) line.str("upstream_model", s.upstream_model);
      if (!s.stop_reason.empty()) line.str("stop_reason", s.stop_reason);
      line.num("attempts", s.attempts).num("stream", s.chat->stream ? 1 : 0);
      if (!s.fingerprint.empty()) line.str("credential", s.fingerprint);
    }
    line.num("duration_ms", now - s.start_mono);
    if (s.ttft_ms >= 0) line.num("ttft_ms", s.ttft_ms);
    if (s.dialect == Dialect::kResponses && s.responses) {
      line.str("terminal", responses_terminal(s));
      std::string types;
      for (const std::string& t : s.responses->declined_tools) {
        types += (types.empty() ? "" : ",") + t;
      }
      if (!types.empty()) line.str("declined_tools", types);
    }
    if (!s.count_source.empty()) {
      line.str("upstream_model", s.upstream_model).str("source", s.count_source);
    }
    if (!s.error_code.empty()) line.str("error_code", s.error_code);
    gw.emit_log(status >= 500 ? LogLevel::kWarn : LogLevel::kInfo, line.done());
  }
  settle_key(s, now, wall);
  if (gw.open > 0) --gw.open;
  ++gw.own_version;
  exchange.reset();
}

Poll Gateway::poll(int64_t now) {
  GatewayCore& gw = *impl_;
  Poll p;
  if (!gw.config_error && gw.config.mode == UpstreamMode::kGuest) {
    const size_t n = gw.pool.start_fetches(now);
    for (size_t i = 0; i < n; ++i) {
      const uint64_t id = gw.next_job_id++;
      gw.jobs_in_flight.insert(id);
      // The budget both hosts gave a token fetch: connecting plus the first byte.
      p.jobs.push_back(
          Job{id, HttpFetch{guest::build_token_request(gw.config),
                            gw.config.connect_timeout_ms + gw.config.first_byte_timeout_ms,
                            gw.limits.max_job_body_bytes}});
    }
  }
  const int64_t held_until = store_poll(gw, now);
  for (Job& j : gw.store_jobs) p.jobs.push_back(std::move(j));
  gw.store_jobs.clear();
  p.logs.swap(gw.logs);
  p.next_deadline = std::min(gw.pool.next_deadline(now), held_until);
  const uint64_t v = gw.version();
  p.changed = v != gw.polled_version;
  gw.polled_version = v;
  return p;
}

void Gateway::on_job_done(uint64_t id, const JobResult& result, int64_t now, int64_t wall) {
  GatewayCore& gw = *impl_;
  if (const StoreResult* store = std::get_if<StoreResult>(&result)) {
    store_on_result(gw, id, *store, now, wall);
    return;
  }
  if (gw.jobs_in_flight.erase(id) == 0) return;
  const HttpResult* http = std::get_if<HttpResult>(&result);
  const int status = http ? http->status : 0;
  const std::string_view body = http ? http->body : std::string_view();
  Result<std::string> token =
      status == 0 ? Result<std::string>(make_error(Errc::kUpstreamError,
                                                   "Could not reach the guest token endpoint"))
                  : guest::parse_token_response(status, body);
  gw.metrics.token_fetch(token.ok());
  if (token) {
    gw.last_fetch_error.reset();
    gw.pool.on_fetched(now, *token);
  } else {
    gw.last_fetch_error = token.error();
    gw.pool.on_fetched(now, {});
    gw.emit_log(LogLevel::kWarn, LogLine(wall, LogLevel::kWarn, "token_fetch_failed", "")
                                     .num("status", status)
                                     .str("message", token.error().message)
                                     .done());
  }
  ++gw.own_version;
}

void Gateway::reload_client_keys(const EnvMap& env, int64_t wall) {
  GatewayCore& gw = *impl_;
  Result<Config> fresh = load_config(env);
  if (!fresh.ok()) {
    gw.emit_log(LogLevel::kError, LogLine(wall, LogLevel::kError, "client_keys_reload_failed", "")
                                      .str("message", fresh.error().message)
                                      .done());
    return;
  }
  gw.config.client_keys = std::move(fresh->client_keys);
  gw.emit_log(LogLevel::kInfo, LogLine(wall, LogLevel::kInfo, "client_keys_reloaded", "")
                                   .num("keys", static_cast<int64_t>(gw.config.client_keys.size()))
                                   .done());
}

void Gateway::log(LogLevel level, std::string_view event, std::string_view message, int64_t wall) {
  impl_->emit_log(level, LogLine(wall, level, event, "").str("message", message).done());
}

Answer Gateway::host_answer(int status, const Error& error, int64_t retry_after_s,
                            std::string_view request_id) const {
  Answer a;
  a.status = status;
  a.headers.push_back({"Content-Type", "application/json"});
  add_cors_headers(a.headers, impl_->config.cors_origins, {});
  if (!request_id.empty()) a.headers.push_back({"X-Request-Id", std::string(request_id)});
  add_retry_after(a.headers, status, retry_after_s);
  a.body = error_json(error);
  return a;
}

void Gateway::begin_shutdown() {
  impl_->shutting_down = true;
  ++impl_->own_version;
}

size_t Gateway::open_exchanges() const {
  return impl_->open;
}

size_t Gateway::store_calls_pending() const {
  return impl_->store_in_flight.size();
}

}  // namespace zproxy
