// Exchange: the public face of one client request, plus routing and the simple answers
// (health, readiness, models, metrics, errors). The chat flow is in chat.cpp.

#include <algorithm>

#include "core/civil_time.h"
#include "dialect/openai_chat/writer.h"
#include "engine/gateway_impl.h"
#include "engine/log.h"
#include "json/writer.h"

namespace zproxy {

void finish_action(ExchangeState& s) {
  s.phase = Phase::kDone;
  s.action = Action::kFinish;
}

void respond_json(ExchangeState& s, int status, std::string body) {
  s.status = status;
  s.streaming = false;
  s.headers.push_back({"Content-Type", "application/json"});
  s.out += body;
  s.head_ready = true;
  finish_action(s);
}

void respond_error(ExchangeState& s, const Error& error, int64_t retry_after_s) {
  s.error_code = std::string(errc_info(error.code).code);
  if (error.code == Errc::kUpstreamOverloaded && retry_after_s < 0) retry_after_s = 1;
  ErrorAnswer answer = error_answer(s.dialect, error, s.request_id);
  add_retry_after(s.headers, answer.status, retry_after_s);
  if (s.dialect == Dialect::kMessages) {
    // Anthropic's SDKs retry 5xx answers unless told not to: not when retrying cannot help.
    const bool hopeless = error.code == Errc::kInvalidConfig ||
                          error.code == Errc::kUpstreamRejected ||
                          (error.code == Errc::kNoCredentials && retry_after_s < 0);
    if (hopeless) s.headers.push_back({"x-should-retry", "false"});
  }
  respond_json(s, answer.status, std::move(answer.body));
}

namespace {

std::string status_json(std::string_view status, std::string_view reason,
                        std::string_view store = {}) {
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("status");
  w.String(status);
  if (!reason.empty()) {
    w.Key("reason");
    w.String(reason);
  }
  if (!store.empty()) {
    w.Key("state_store");  // never turns /readyz to 503
    w.String(store);
  }
  w.EndObject();
  return buf.take();
}

void answer_readyz(ExchangeState& s, int64_t now) {
  GatewayCore& gw = s.gw;
  if (gw.config_error) {
    respond_json(s, 503, status_json("unavailable", "invalid configuration"));
    return;
  }
  if (gw.shutting_down) {
    respond_json(s, 503, status_json("unavailable", "shutting down"));
    return;
  }
  const PoolCounts c = gw.pool.counts(now);
  const std::string_view store = store_state_name(gw);
  if (c.healthy > 0) {
    respond_json(s, 200, status_json("ready", "", store));
  } else if (gw.config.mode == UpstreamMode::kGuest && gw.config.token_pool_size == 0) {
    respond_json(s, 503, status_json("unavailable", "TOKEN_POOL_SIZE is 0: no credentials", store));
  } else {
    respond_json(s, 503, status_json("unavailable", "no usable credential yet", store));
  }
}

// The models the caller's key may use (all of them without a key list).
std::vector<ModelEntry> allowed_models(const ExchangeState& s) {
  std::vector<ModelEntry> out;
  for (const ModelEntry& m : s.gw.config.models) {
    if (!s.key || s.key->allows(m.public_name)) out.push_back(m);
  }
  return out;
}

void answer_models(ExchangeState& s, std::string_view model_id) {
  const Config& cfg = s.gw.config;
  const int64_t created = s.gw.started_wall / 1000;
  if (model_id.empty()) {
    respond_json(s, 200, models_list_json(allowed_models(s), created));
    return;
  }
  const std::string id = percent_decode(model_id);
  if (const ModelEntry* m = cfg.find_model(id); m && (!s.key || s.key->allows(id))) {
    respond_json(s, 200, model_json(*m, created));
    return;
  }
  respond_error(s,
                make_error(Errc::kModelNotFound, "The model '" + id + "' does not exist", "model"));
}

// Constant-time equality of two secrets (the length is not hidden).
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

// DELETE /admin/credentials/{cid}: clears the credential's dead or cooldown mark here and in a
// shared store (other replicas learn it at their next health refresh).
void answer_clear_credential(ExchangeState& s, std::string_view cid) {
  GatewayCore& gw = s.gw;
  const bool well_formed = cid.size() == 16 && std::all_of(cid.begin(), cid.end(), [](char c) {
                             return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                           });
  const bool known = well_formed && gw.pool.clear_marks(cid);
  if (!known && !(well_formed && gw.shared)) {
    respond_error(s, make_error(Errc::kNotFound,
                                "No credential has the id '" + std::string(cid) +
                                    "' (16 lowercase hex, as the logs' credential_id shows it)"));
    return;
  }
  if (gw.shared) {
    StoreOp op;
    op.kind = StoreOpKind::kClear;
    op.cid = std::string(cid);
    store_send(gw, std::move(op), false);
  }
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("id");
  w.String(cid);
  w.Key("object");
  w.String("credential");
  w.Key("cleared");
  w.Bool(true);
  w.EndObject();
  respond_json(s, 200, buf.take());
}

// GET /admin/keys?after=<name>&limit=<1..40>: every key as /v1/usage shows it, in pages.
void answer_admin(ExchangeState& s, std::string_view method, std::string_view path,
                  const RouteMatch& m, int64_t now) {
  if (!m.method_ok) {
    s.headers.push_back({"Allow", std::string(m.allow)});
    respond_error(s, make_error(Errc::kMethodNotAllowed,
                                "Method " + std::string(method) + " is not allowed here"));
    return;
  }
  if (!path.starts_with("/admin/keys")) {
    answer_clear_credential(s, path.substr(path.rfind('/') + 1));
    return;
  }
  std::string_view after;
  size_t limit = 20;
  std::string_view query = s.query;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::string_view k = pair.substr(0, eq);
    const std::string_view v = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (k == "after") after = v;
    if (k == "limit") {
      size_t n = 0;
      for (char c : v) n = c >= '0' && c <= '9' && n < 1000 ? n * 10 + (c - '0') : 1000;
      if (n < 1 || n > 40) {
        respond_error(s, make_error(Errc::kInvalidValue, "limit must be 1..40", "limit"));
        return;
      }
      limit = n;
    }
  }
  const std::vector<ClientKey>& keys = s.gw.config.client_keys;
  size_t start = 0;
  if (!after.empty()) {
    const std::string wanted = percent_decode(after);
    while (start < keys.size() && keys[start].name != wanted) ++start;
    if (start < keys.size()) ++start;
  }
  answer_key_page(s, start, std::min(keys.size(), start + limit), now);
}

void answer_metrics(ExchangeState& s, int64_t now) {
  s.status = 200;
  s.headers.push_back({"Content-Type", "text/plain; version=0.0.4; charset=utf-8"});
  s.out = s.gw.metrics.render(s.gw.config.mode, s.gw.pool.counts(now));
  s.head_ready = true;
  finish_action(s);
}

// Check order (docs/contract.md §7.2): auth, route and method, body size, JSON, fields,
// model, credentials. Health endpoints answer without auth.
void route_request(ExchangeState& s, const RequestHead& head, std::string_view path, int64_t now) {
  GatewayCore& gw = s.gw;
  const RouteMatch m = match_route(head.method, path);
  s.route = m.route;
  const bool open_route = m.route == Route::kHealthz || m.route == Route::kReadyz;
  if (open_route && m.method_ok) {
    if (m.route == Route::kHealthz) {
      respond_json(s, 200, status_json("ok", ""));
    } else {
      answer_readyz(s, now);
    }
    return;
  }
  if (gw.config_error) {
    respond_error(s, *gw.config_error);
    return;
  }
  const std::span<const HeaderView> hs(head.headers);
  const std::string_view presented =
      presented_key(find_header(hs, "authorization"), find_header(hs, "x-api-key"));
  // /admin/* (and /metrics once CLIENT_KEYS is set) answer to ADMIN_KEY alone, whatever
  // ALLOW_OPEN_ACCESS says; without ADMIN_KEY, /admin/* are unknown paths.
  const bool admin_route = m.route == Route::kAdmin && !gw.config.admin_key.empty();
  const bool admin_metrics = m.route == Route::kMetrics && gw.config.client_keys_set;
  if (admin_route || admin_metrics) {
    if (gw.config.admin_key.empty() || !same_secret(presented, gw.config.admin_key)) {
      respond_error(s,
                    make_error(Errc::kInvalidApiKey,
                               "This route needs ADMIN_KEY (Authorization: Bearer or x-api-key)"));
      return;
    }
    if (m.route == Route::kAdmin) {
      answer_admin(s, head.method, path, m, now);
      return;
    }
    answer_metrics(s, now);
    return;
  }
  if (m.route == Route::kAdmin) s.route = Route::kOther;  // ADMIN_KEY unset: an unknown path
  if (!gw.config.allow_open_access) {
    const ClientKey* key = identify_client_key(gw.config.client_keys, presented);
    const int64_t wall = gw.wall_at(now);
    if (key == nullptr || key->disabled || (key->expires_at_ms && *key->expires_at_ms <= wall)) {
      respond_error(s, make_error(Errc::kInvalidApiKey,
                                  "Incorrect, disabled, expired or missing API key. Send it as "
                                  "'Authorization: Bearer <key>' or 'x-api-key: <key>'."));
      return;
    }
    s.key = *key;
  }
  if (m.route == Route::kCountTokens && gw.config.count_tokens == CountTokens::kOff) {
    respond_error(s, make_error(Errc::kNotFound, "count_tokens is turned off (COUNT_TOKENS=off)"));
    return;
  }
  if (!m.known_path && m.route == Route::kResponses) {
    respond_error(s, make_error(Errc::kNotFound,
                                "Responses are not stored by this proxy: send the whole "
                                "conversation in 'input' of POST /v1/responses"));
    return;
  }
  if (!m.known_path || m.route == Route::kAdmin) {
    respond_error(s, make_error(Errc::kNotFound, "Unknown route: " + std::string(head.method) +
                                                     " " + std::string(path)));
    return;
  }
  if (!m.method_ok) {
    s.headers.push_back({"Allow", std::string(m.allow)});
    respond_error(s, make_error(Errc::kMethodNotAllowed,
                                "Method " + std::string(head.method) + " is not allowed here"));
    return;
  }
  switch (m.route) {
    case Route::kModels: answer_models(s, m.model_id); return;
    case Route::kUsage: answer_usage(s, now); return;
    case Route::kMetrics: answer_metrics(s, now); return;
    case Route::kChatCompletions:
    case Route::kMessages:
    case Route::kCountTokens:
    case Route::kResponses: break;
    default: respond_error(s, make_error(Errc::kNotFound, "Unknown route")); return;
  }
  if (head.content_length >= 0 &&
      static_cast<uint64_t>(head.content_length) > gw.config.max_body_bytes) {
    respond_error(s, make_error(Errc::kRequestTooLarge,
                                "Request body exceeds MAX_BODY_BYTES (" +
                                    std::to_string(gw.config.max_body_bytes) + " bytes)"));
    return;
  }
  const size_t max_open = gw.limits.max_open_exchanges;
  if (max_open > 0 && gw.open > max_open) {
    respond_error(s,
                  make_error(Errc::kRateLimitExceeded,
                             "Too many concurrent requests on this instance (limit " +
                                 std::to_string(max_open) + "); retry shortly"),
                  1);
    return;
  }
  s.phase = Phase::kBody;
  s.action = Action::kReadBody;
}

}  // namespace

std::unique_ptr<Exchange> Gateway::start(const RequestHead& head, int64_t now, int64_t wall,
                                         std::span<const uint8_t> entropy) {
  auto st = std::make_unique<ExchangeState>(*impl_, entropy);
  store_on_request(*impl_, now);
  ExchangeState& s = *st;
  s.start_mono = now;
  s.last_now = now;
  s.start_wall = wall;
  s.last_output = now;
  const std::span<const HeaderView> hs(head.headers);
  const std::string_view client_id = sane_request_id(find_header(hs, "x-request-id"));
  s.request_id = client_id.empty() ? s.ids.alnum("req_", 24) : std::string(client_id);
  s.origin = std::string(find_header(hs, "origin"));
  std::string_view path = head.target;
  if (const size_t q = path.find('?'); q != std::string_view::npos) {
    s.query = std::string(path.substr(q + 1));
    path = path.substr(0, q);
  }
  const RouteMatch posted = match_route("POST", path);
  if (posted.anthropic) s.dialect = Dialect::kMessages;
  if (posted.route == Route::kResponses) s.dialect = Dialect::kResponses;
  s.headers.reserve(8);  // CORS, the id, the type, an admission's rate-limit headers
  add_cors_headers(s.headers, impl_->config.cors_origins, s.origin,
                   s.dialect == Dialect::kMessages);
  s.headers.push_back({"X-Request-Id", s.request_id});
  if (s.dialect == Dialect::kMessages) s.headers.push_back({"request-id", s.request_id});
  ++impl_->open;
  impl_->metrics.inflight_delta(1);
  if (head.method == "OPTIONS") {
    s.route = match_route("GET", path).route;
    add_preflight_headers(s.headers, find_header(hs, "access-control-request-headers"));
    s.status = 204;
    s.head_ready = true;
    finish_action(s);
  } else {
    route_request(s, head, path, now);
  }
  return std::unique_ptr<Exchange>(new Exchange(std::move(st)));
}

Exchange::Exchange(std::unique_ptr<ExchangeState> state) : s_(std::move(state)) {}
Exchange::~Exchange() = default;

namespace {

// What the host does next, read off the state: no change to it.
Step snapshot(const ExchangeState& s, int64_t now) {
  Step step;
  step.action = s.action;
  step.head_ready = s.head_ready;
  step.poll = s.gw.wants_poll(now);
  step.attempt = static_cast<uint32_t>(s.attempts);
  step.output_bytes = s.out.size();
  step.deadline = s.phase == Phase::kDone || s.phase == Phase::kBody ? kNever
                  : s.counting                                       ? count_deadline(s)
                                                                     : chat_deadline(s);
  if (s.phase != Phase::kDone) step.deadline = std::min(step.deadline, lease_deadline(s));
  return step;
}

}  // namespace

void Exchange::touch(int64_t now) {
  s_->wall_now = s_->start_wall + (now - s_->start_mono);
  renew_lease(*s_, now);
}

Step Exchange::make_step(int64_t now) {
  s_->last_now = now;
  return snapshot(*s_, now);
}

Step Exchange::step() const {
  return snapshot(*s_, s_->last_now);
}
size_t Exchange::body_limit() const {
  return s_->gw.config.max_body_bytes;
}

Step Exchange::on_body(std::string_view body, int64_t now) {
  s_->request_bytes = body.size();
  if (s_->phase == Phase::kBody) {
    switch (s_->route) {
      case Route::kMessages: messages_on_body(*s_, body, now); break;
      case Route::kCountTokens: count_on_body(*s_, body, now); break;
      case Route::kResponses: responses_on_body(*s_, body, now); break;
      default: chat_on_body(*s_, body, now); break;
    }
  }
  return make_step(now);
}

Step Exchange::on_body_too_large(int64_t now) {
  if (s_->phase == Phase::kBody) {
    respond_error(*s_, make_error(Errc::kRequestTooLarge,
                                  "Request body exceeds MAX_BODY_BYTES (" +
                                      std::to_string(s_->gw.config.max_body_bytes) + " bytes)"));
  }
  return make_step(now);
}

UpstreamRequest Exchange::begin_fetch() {
  if (s_->action != Action::kFetch) return {};
  s_->action = Action::kReadUpstream;
  return std::move(s_->upstream);
}
int64_t Exchange::connect_timeout_ms() const {
  return s_->gw.config.connect_timeout_ms;
}

Step Exchange::on_upstream_connected(int64_t now) {
  if (s_->phase == Phase::kConnect) s_->phase = Phase::kHead;
  return make_step(now);
}

Step Exchange::on_upstream_head(int status, int64_t now) {
  if (s_->phase == Phase::kConnect || s_->phase == Phase::kHead) {
    if (s_->counting) {
      count_on_head(*s_, status, now);
    } else {
      chat_on_head(*s_, status, now);
    }
  }
  return make_step(now);
}

Step Exchange::on_upstream_data(std::string_view bytes, int64_t now) {
  touch(now);
  if (s_->counting) {
    count_on_data(*s_, bytes, now);
  } else {
    chat_on_data(*s_, bytes, now);
  }
  return make_step(now);
}
Step Exchange::on_upstream_end(int64_t now) {
  touch(now);
  if (s_->counting) {
    count_on_end(*s_, now);
  } else {
    chat_on_end(*s_, now);
  }
  return make_step(now);
}
Step Exchange::on_upstream_error(NetError error, int64_t now) {
  touch(now);
  if (s_->counting) {
    count_on_end(*s_, now);  // any failure: the estimate
  } else {
    chat_on_net_error(*s_, error, now);
  }
  return make_step(now);
}

Step Exchange::on_timer(int64_t now) {
  touch(now);
  if (s_->counting) {
    count_on_timer(*s_, now);
  } else {
    chat_on_timer(*s_, now);
  }
  return make_step(now);
}
Step Exchange::on_client_gone(int64_t now) {
  if (s_->counting) {
    count_on_client_gone(*s_, now);
  } else {
    chat_on_client_gone(*s_, now);
  }
  return make_step(now);
}

int Exchange::status() const {
  return s_->status;
}
const std::vector<Header>& Exchange::headers() const {
  return s_->headers;
}
bool Exchange::streaming() const {
  return s_->streaming;
}
std::string Exchange::take_output() {
  std::string out;
  out.swap(s_->out);
  s_->output_bytes += out.size();
  return out;
}

}  // namespace zproxy
