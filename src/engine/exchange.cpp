// Exchange: the public face of one client request, plus routing and the simple answers
// (health, readiness, models, metrics, errors). The chat flow is in chat.cpp.

#include <rapidjson/writer.h>

#include "engine/gateway_impl.h"
#include "engine/log.h"
#include "json/json.h"
#include "dialect/openai_chat/writer.h"

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
  const ErrcInfo info = errc_info(error.code);
  s.error_code = std::string(info.code);
  if (retry_after_s >= 0 && (info.status == 429 || info.status == 503)) {
    s.headers.push_back({"Retry-After", std::to_string(retry_after_s < 1 ? 1 : retry_after_s)});
  }
  respond_json(s, info.status, error_json(error));
}

namespace {

std::string status_json(std::string_view status, std::string_view reason) {
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("status");
  json_write_string(w, status);
  if (!reason.empty()) {
    w.Key("reason");
    json_write_string(w, reason);
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
  if (c.healthy > 0) {
    respond_json(s, 200, status_json("ready", ""));
  } else if (gw.config.mode == UpstreamMode::kGuest && gw.config.token_pool_size == 0) {
    respond_json(s, 503, status_json("unavailable", "TOKEN_POOL_SIZE is 0: no credentials"));
  } else {
    respond_json(s, 503, status_json("unavailable", "no usable credential yet"));
  }
}

void answer_models(ExchangeState& s, std::string_view model_id) {
  const Config& cfg = s.gw.config;
  const int64_t created = s.gw.started_wall / 1000;
  if (model_id.empty()) {
    respond_json(s, 200, models_list_json(cfg.models, created));
    return;
  }
  const std::string id = percent_decode(model_id);
  if (const ModelEntry* m = cfg.find_model(id)) {
    respond_json(s, 200, model_json(*m, created));
    return;
  }
  respond_error(s, make_error(Errc::kModelNotFound,
                              "The model '" + id + "' does not exist", "model"));
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
void route_request(ExchangeState& s, const RequestHead& head, std::string_view path,
                   int64_t now) {
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
  if (!gw.config.allow_open_access &&
      !authorized(find_header(hs, "authorization"), gw.config.client_keys)) {
    respond_error(s, make_error(Errc::kInvalidApiKey,
                                "Incorrect or missing API key. Send it as 'Authorization: "
                                "Bearer <key>'."));
    return;
  }
  if (!m.known_path) {
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
    case Route::kMetrics: answer_metrics(s, now); return;
    case Route::kChatCompletions: break;
    default: respond_error(s, make_error(Errc::kNotFound, "Unknown route")); return;
  }
  if (head.content_length >= 0 &&
      static_cast<uint64_t>(head.content_length) > gw.config.max_body_bytes) {
    respond_error(s, make_error(Errc::kRequestTooLarge,
                                "Request body exceeds MAX_BODY_BYTES (" +
                                    std::to_string(gw.config.max_body_bytes) + " bytes)"));
    return;
  }
  if (gw.host == HostKind::kWorker && gw.open > kWorkerMaxOpenExchanges) {
    respond_error(s,
                  make_error(Errc::kRateLimitExceeded,
                             "Too many concurrent requests on this instance (limit " +
                                 std::to_string(kWorkerMaxOpenExchanges) + "); retry shortly"),
                  1);
    return;
  }
  s.phase = Phase::kBody;
  s.action = Action::kReadBody;
}

}  // namespace

Exchange& Gateway::start(const RequestHead& head, int64_t now, int64_t wall,
                         std::span<const uint8_t> entropy) {
  auto st = std::make_unique<ExchangeState>(*impl_, entropy);
  ExchangeState& s = *st;
  s.start_mono = now;
  s.start_wall = wall;
  s.last_output = now;
  const std::span<const HeaderView> hs(head.headers);
  const std::string_view client_id = sane_request_id(find_header(hs, "x-request-id"));
  s.request_id = client_id.empty() ? "req_" + s.ids.alnum(24) : std::string(client_id);
  s.origin = std::string(find_header(hs, "origin"));
  add_cors_headers(s.headers, impl_->config.cors_origins, s.origin);
  s.headers.push_back({"X-Request-Id", s.request_id});
  std::string_view path = head.target;
  if (const size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
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
  auto* ex = new Exchange(std::move(st));
  return *ex;
}

Exchange::Exchange(std::unique_ptr<ExchangeState> state) : s_(std::move(state)) {}
Exchange::~Exchange() = default;

Action Exchange::next() const { return s_->action; }
size_t Exchange::body_limit() const { return s_->gw.config.max_body_bytes; }

void Exchange::on_body(std::string_view body, int64_t now) {
  if (s_->phase != Phase::kBody) return;
  chat_on_body(*s_, body, now);
}

void Exchange::on_body_too_large(int64_t now) {
  if (s_->phase != Phase::kBody) return;
  respond_error(*s_, make_error(Errc::kRequestTooLarge,
                                "Request body exceeds MAX_BODY_BYTES (" +
                                    std::to_string(s_->gw.config.max_body_bytes) + " bytes)"));
}

const UpstreamRequest& Exchange::upstream_request() const {
  if (s_->action == Action::kFetch) s_->action = Action::kReadUpstream;
  return s_->upstream;
}
UpstreamRequest Exchange::take_upstream_request() {
  if (s_->action == Action::kFetch) s_->action = Action::kReadUpstream;
  return std::move(s_->upstream);
}
int64_t Exchange::connect_timeout_ms() const { return s_->gw.config.connect_timeout_ms; }

void Exchange::on_upstream_connected(int64_t now) {
  if (s_->phase == Phase::kConnect) s_->phase = Phase::kHead;
}

void Exchange::on_upstream_head(int status, std::span<const HeaderView> headers, int64_t now) {
  if (s_->phase == Phase::kConnect || s_->phase == Phase::kHead) chat_on_head(*s_, status, now);
}

void Exchange::on_upstream_data(std::string_view bytes, int64_t now) {
  chat_on_data(*s_, bytes, now);
}
void Exchange::on_upstream_end(int64_t now) { chat_on_end(*s_, now); }
void Exchange::on_upstream_error(NetError error, int64_t now) {
  chat_on_net_error(*s_, error, now);
}

int64_t Exchange::deadline() const {
  return s_->phase == Phase::kDone || s_->phase == Phase::kBody ? kNever : chat_deadline(*s_);
}
void Exchange::on_timer(int64_t now) { chat_on_timer(*s_, now); }
void Exchange::on_client_gone(int64_t now) { chat_on_client_gone(*s_, now); }

bool Exchange::head_ready() const { return s_->head_ready; }
int Exchange::status() const { return s_->status; }
const std::vector<Header>& Exchange::headers() const { return s_->headers; }
bool Exchange::streaming() const { return s_->streaming; }
std::string Exchange::take_output() {
  std::string out;
  out.swap(s_->out);
  return out;
}
size_t Exchange::pending_output() const { return s_->out.size(); }
std::string_view Exchange::request_id() const { return s_->request_id; }

}  // namespace zproxy
