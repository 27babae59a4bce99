// The chat completion flow of one exchange: validate, pick a credential, run attempts through
// the translator, retry on another credential until the commit point, then stream.
//
// Commit point (docs/contract.md §6.1): a streaming answer sends its head with the first
// visible delta or keep-alive. Before it every failure may be retried (per its Verdict) within
// REQUEST_DEADLINE_MS and MAX_ATTEMPTS; after it a failure is one error event and [DONE].

#include <algorithm>

#include "core/civil_time.h"
#include "core/effort.h"
#include "core/tool_names.h"
#include "dialect/anthropic_messages/emitter.h"
#include "dialect/anthropic_messages/messages_request.h"
#include "dialect/openai_chat/emitter.h"
#include "dialect/openai_responses/emitter.h"
#include "dialect/openai_responses/responses_request.h"
#include "engine/gateway_impl.h"
#include "engine/log.h"
#include "upstream/guest/guest.h"
#include "upstream/zai_api/api.h"

namespace zproxy {

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

int64_t ceil_seconds(int64_t ms) {
  return ms <= 0 ? 1 : (ms + 999) / 1000;
}

bool committed(const ExchangeState& s) {
  return s.head_ready && s.streaming;
}

AttemptOutcome outcome_of(Verdict v) {
  switch (v) {
    case Verdict::kDead: return AttemptOutcome::kDead;
    case Verdict::kCooldown: return AttemptOutcome::kCooldown;
    case Verdict::kTransient: return AttemptOutcome::kTransient;
    case Verdict::kClientFault: return AttemptOutcome::kClientFault;
    case Verdict::kUpstreamWide: return AttemptOutcome::kUpstreamWide;
  }
  return AttemptOutcome::kTransient;
}

// Time to first token: streams at the commit point, other answers at the first bytes of the
// upstream answer that succeeds.
void record_first_token(ExchangeState& s, int64_t now) {
  if (s.ttft_ms >= 0) return;
  s.ttft_ms = now - s.start_mono;
  s.gw.metrics.first_token(s.gw.config.mode, static_cast<double>(s.ttft_ms) / 1000.0);
}

void commit_stream(ExchangeState& s, int64_t now) {
  s.status = 200;
  s.streaming = true;
  s.headers.push_back({"Content-Type", "text/event-stream; charset=utf-8"});
  s.headers.push_back({"Cache-Control", "no-cache"});
  s.headers.push_back({"X-Accel-Buffering", "no"});
  s.head_ready = true;
  record_first_token(s, now);
}

void release_lease(ExchangeState& s, const UpstreamFailure* f, int64_t now) {
  if (!s.lease) return;
  GatewayCore& gw = s.gw;
  if (f == nullptr) {
    gw.pool.release_ok(*s.lease, now);
  } else {
    int64_t until = 0;
    if (f->reset_wall_ms > 0) {
      until = now + std::max<int64_t>(f->reset_wall_ms - gw.wall_at(now), 1000);
    } else if (f->cooldown_ms > 0) {
      until = now + f->cooldown_ms;
    }
    if (f->verdict == Verdict::kDead) {
      gw.emit_log(LogLevel::kWarn,
                  LogLine(gw.wall_at(now), LogLevel::kWarn, "credential_rejected", s.request_id)
                      .str("credential", s.fingerprint)
                      .str("credential_id", gw.pool.cid(*s.lease))
                      .str("mode", to_string(gw.config.mode))
                      .done());
    }
    store_publish_failure(gw, *s.lease, f->verdict, until, now);
    gw.pool.release_failed(*s.lease, f->verdict, now, until);
  }
  s.lease.reset();
}

// The final answer for a failure before the commit point, or the error event after it.
void fail_final(ExchangeState& s, Error error, int64_t retry_after_s) {
  if (committed(s) && s.translator) {
    Translator& tr = *s.translator;
    tr.write_error_event(error);
    s.out += tr.take_output();
    s.error_code = std::string(errc_info(error.code).code);
    finish_action(s);
    return;
  }
  if (error.code == Errc::kModelNotAvailable && s.chat) {
    error.message = "Model '" + s.chat->model + "': " + error.message;
  }
  respond_error(s, error, retry_after_s);
}

void start_attempt(ExchangeState& s, int64_t now);

void deadline_expired(ExchangeState& s) {
  if (s.phase == Phase::kWaitCredential) {
    if (s.wait_reason == AcquireStatus::kWaitFetch && s.gw.last_fetch_error) {
      fail_final(s, *s.gw.last_fetch_error, 1);  // why no token came: firewall, bad answer…
    } else if (s.wait_reason == AcquireStatus::kWaitFetch) {
      fail_final(s,
                 make_error(Errc::kNoCredentials,
                            "No upstream credential became available "
                            "within REQUEST_DEADLINE_MS"),
                 1);
    } else {
      fail_final(s,
                 make_error(Errc::kRateLimitExceeded,
                            "Every upstream credential is busy; "
                            "retry shortly"),
                 1);
    }
    return;
  }
  fail_final(s,
             make_error(Errc::kUpstreamTimeout,
                        "Upstream did not answer within "
                        "REQUEST_DEADLINE_MS"),
             -1);
}

void wait_for_credential(ExchangeState& s, const Acquire& a, int64_t now) {
  GatewayCore& gw = s.gw;
  if (a.status == AcquireStatus::kWaitFetch && gw.jobs_in_flight.empty() && gw.last_fetch_error &&
      a.until != kNever && a.until > s.deadline_total) {
    // Token fetching is failing and the next try comes after the deadline: say why now.
    fail_final(s, *gw.last_fetch_error, ceil_seconds(a.until - now));
    return;
  }
  if (a.status == AcquireStatus::kWaitCooldown && a.until > s.deadline_total) {
    const int64_t wait = a.until - now;
    const Errc code = wait <= 60000 ? Errc::kRateLimitExceeded : Errc::kNoCredentials;
    fail_final(s,
               make_error(code, code == Errc::kRateLimitExceeded
                                    ? "Every upstream credential is busy; retry shortly"
                                    : "Every upstream credential is cooling down"),
               ceil_seconds(wait));
    return;
  }
  s.phase = Phase::kWaitCredential;
  s.action = Action::kWait;
  s.wait_reason = a.status;
  s.wait_until = a.status == AcquireStatus::kWaitCooldown ? a.until : kNever;
}

// The request as this attempt's model takes it (MODEL_CAPS, API mode): max_tokens within its
// output limit, thinking on for a model that always thinks (its reasoning then hidden from a
// client that turned thinking off), the nearest effort it offers. Never a refusal.
void adapt_to_model(ExchangeState& s) {
  CanonicalRequest& r = *s.chat;
  r.max_tokens = s.asked_max_tokens;
  r.thinking = s.asked_thinking;
  r.reasoning_effort = s.asked_effort;
  r.send_effort = s.asked_send_effort;
  s.hide_reasoning = false;
  const Config& cfg = s.gw.config;
  if (cfg.mode != UpstreamMode::kApi) return;
  const ModelCaps* caps = cfg.caps_for(s.upstream_model);
  if (caps == nullptr) return;
  if (caps->max_output > 0 && r.max_tokens && *r.max_tokens > caps->max_output) {
    r.max_tokens = caps->max_output;
  }
  if (caps->thinking_always) {
    s.hide_reasoning = r.thinking == ThinkingSwitch::kDisabled;
    r.thinking = ThinkingSwitch::kEnabled;
  }
  const bool effort_on =
      !s.asked_effort.empty() && s.asked_effort != "none" && s.asked_effort != "minimal";
  if (!caps->efforts.empty() && effort_on) {
    r.reasoning_effort = nearest_effort(s.asked_effort, caps->efforts);
    r.send_effort = true;
  } else if (!caps->efforts.empty()) {
    r.send_effort = false;
  }
}

void build_upstream(ExchangeState& s, int64_t now) {
  GatewayCore& gw = s.gw;
  adapt_to_model(s);
  const std::string secret(gw.pool.secret(*s.lease));
  if (gw.config.mode == UpstreamMode::kGuest) {
    guest::ChatIds ids{s.ids.uuid4(), s.ids.uuid4()};
    s.upstream = guest::build_chat_request(*s.chat, gw.config, s.upstream_model, secret, ids,
                                           gw.wall_at(now));
  } else {
    s.upstream = api::build_chat_request(*s.chat, gw.config, s.upstream_model, secret,
                                         s.ids.alnum("zp-", 24));
  }
}

void start_attempt(ExchangeState& s, int64_t now) {
  GatewayCore& gw = s.gw;
  if (s.attempts >= gw.config.max_attempts && s.last_failure) {
    fail_final(s, s.last_failure->error, s.last_failure->cooldown_ms / 1000);
    return;
  }
  if (now >= s.deadline_total) {
    deadline_expired(s);
    return;
  }
  const Acquire a = gw.pool.acquire(now, s.tried);
  if (a.status == AcquireStatus::kNone) {
    fail_final(s,
               make_error(Errc::kNoCredentials,
                          gw.config.mode == UpstreamMode::kGuest && gw.config.token_pool_size == 0
                              ? "No upstream credentials: TOKEN_POOL_SIZE is 0"
                              : "No usable upstream credential"),
               -1);
    return;
  }
  if (a.status != AcquireStatus::kLeased) {
    wait_for_credential(s, a, now);
    return;
  }
  if (s.attempts > 0) gw.metrics.retry(gw.config.mode);
  ++s.attempts;
  s.lease = a.lease;
  s.tried.push_back(a.lease);
  s.fingerprint = gw.pool.fingerprint(a.lease);
  build_upstream(s, now);
  s.translator.reset();
  s.first_body_at = -1;
  s.error_body.clear();
  s.attempt_start = now;
  s.last_upstream = now;
  s.phase = Phase::kConnect;
  s.action = Action::kFetch;
}

void handle_failure(ExchangeState& s, const UpstreamFailure& f, int64_t now,
                    AttemptOutcome outcome) {
  s.gw.metrics.attempt(s.gw.config.mode, outcome);
  release_lease(s, &f, now);
  s.last_failure = f;
  const bool retry = !committed(s) && retry_elsewhere(f.verdict) &&
                     s.attempts < s.gw.config.max_attempts && now < s.deadline_total;
  if (retry) {
    // Overloaded, or the model briefly unavailable: the next attempt asks the next model of
    // MODEL_FALLBACKS, if one is configured.
    const std::vector<std::string>& next = s.gw.config.fallbacks_for(s.first_model);
    if (f.error.code == Errc::kUpstreamOverloaded && s.fallback_next < next.size()) {
      const std::string& to = next[s.fallback_next++];
      s.gw.metrics.model_fallback(s.upstream_model, to);
      s.upstream_model = to;
    }
    start_attempt(s, now);
    return;
  }
  int64_t retry_after = -1;
  if (f.verdict == Verdict::kCooldown) {
    retry_after = f.reset_wall_ms > 0 ? ceil_seconds(f.reset_wall_ms - s.gw.wall_at(now))
                                      : ceil_seconds(f.cooldown_ms);
  }
  fail_final(s, f.error, retry_after);
}

void handle_failure(ExchangeState& s, const UpstreamFailure& f, int64_t now) {
  handle_failure(s, f, now, outcome_of(f.verdict));
}

UpstreamFailure transient(Errc code, std::string message) {
  return UpstreamFailure{make_error(code, std::move(message)), Verdict::kTransient, 0, 0};
}

// After every translator call: commit, move output, finish or keep reading.
void after_translate(ExchangeState& s, int64_t now) {
  Translator& em = *s.translator;
  if (em.failed() && !em.committed()) {
    handle_failure(s, em.failure(), now);
    return;
  }
  if (s.client_stream && (em.committed() || em.complete()) && !s.head_ready) commit_stream(s, now);
  if (s.client_stream) {
    std::string piece = em.take_output();
    if (!piece.empty()) {
      s.out += piece;
      s.last_output = now;
    }
  }
  if (em.failed()) {
    handle_failure(s, em.failure(), now);
    return;
  }
  if (!em.complete()) {
    s.action = Action::kReadUpstream;
    return;
  }
  s.gw.metrics.attempt(s.gw.config.mode, AttemptOutcome::kOk);
  s.stop_reason = std::string(em.end_reason());
  const Usage& used = em.usage();
  s.charged_tokens =
      used.total_tokens > 0 ? used.total_tokens : used.prompt_tokens + used.completion_tokens;
  release_lease(s, nullptr, now);
  if (!s.client_stream) {
    record_first_token(s, s.first_body_at);
    respond_json(s, 200, em.take_output());
  } else {
    finish_action(s);
  }
}

// The emitter of the exchange's dialect, and the thinking mode its answer is written with.
std::unique_ptr<AnswerEmitter> make_emitter(ExchangeState& s) {
  const CanonicalRequest& req = *s.chat;
  if (s.dialect == Dialect::kMessages) {
    MessagesEmitterOptions opt;
    opt.id = s.completion_id;
    opt.model = req.model;
    opt.request_id = s.request_id;
    opt.stream = req.stream;
    opt.thinking_text = s.thinking_text;
    opt.input_estimate = s.input_estimate;
    opt.id_seed = s.ids.next();
    for (const Tool& tool : req.tools) {
      if (tool.name.size() > kUpstreamToolNameMax) {
        opt.tool_names.emplace_back(upstream_tool_name(tool.name), tool.name);
      }
    }
    return std::make_unique<MessagesEmitter>(std::move(opt));
  }
  if (s.dialect == Dialect::kResponses) {
    ResponsesEmitterOptions opt;
    opt.id = s.completion_id;
    opt.model = req.model;
    opt.created_at = s.start_wall / 1000;
    opt.wall_ms = &s.wall_now;
    opt.stream = s.client_stream;
    opt.reasoning_summary = s.responses->reasoning_summary;
    opt.encrypted_reasoning = s.responses->encrypted_reasoning;
    opt.echo = s.responses->echo;
    opt.tools = s.responses->tools;
    opt.id_seed = s.ids.next();
    return std::make_unique<ResponsesEmitter>(std::move(opt));
  }
  ChatEmitterOptions opt;
  opt.id = s.completion_id;
  opt.created = s.start_wall / 1000;
  opt.model = req.model;
  opt.stream = req.stream;
  opt.include_usage = req.include_usage;
  return std::make_unique<ChatEmitter>(std::move(opt));
}

// Messages shows reasoning as thinking blocks only when the request turned thinking on (and
// THINKING=hidden is not set); the chat dialect follows THINKING.
ThinkingMode thinking_mode(const ExchangeState& s) {
  const ThinkingMode configured = s.gw.config.thinking;
  if (s.hide_reasoning) return ThinkingMode::kHidden;
  if (s.dialect == Dialect::kResponses) {
    // Reasoning is always its own item; think_tags has no place in output_text.
    return configured == ThinkingMode::kHidden ? ThinkingMode::kHidden
                                               : ThinkingMode::kReasoningContent;
  }
  if (s.dialect != Dialect::kMessages) return configured;
  const bool shown =
      s.chat->thinking == ThinkingSwitch::kEnabled && configured != ThinkingMode::kHidden;
  return shown ? ThinkingMode::kReasoningContent : ThinkingMode::kHidden;
}

// A field error of a mode's rules, in the Responses dialect's words: its fields' names.
Error responses_field_error(Error e, const CanonicalRequest& req) {
  if (e.param == "response_format") e.param = "text.format";
  // An image part the mode refuses: where it was in `input`, not in the canonical messages.
  if (e.param.starts_with("messages[") && !req.image_path.empty()) e.param = req.image_path;
  return e;
}

// A field error of a mode's rules, in the Messages dialect's words: the message starts with
// the field's path.
Error messages_field_error(Error e) {
  if (!e.param.empty() && !e.message.starts_with(e.param + ":")) {
    e.message = e.param + ": " + e.message;
  }
  return e;
}

// Images for a model that takes none, and no VISION_MODEL: refused here rather than upstream's
// 1210, naming the first image part in the client's words and the models that take images.
Error image_refusal(const ExchangeState& s, const CanonicalRequest& req) {
  std::string where = req.image_path;
  if (where.empty()) {
    for (size_t i = 0; i < req.messages.size() && where.empty(); ++i) {
      const std::vector<Part>& parts = req.messages[i].parts;
      for (size_t j = 0; j < parts.size(); ++j) {
        if (parts[j].kind == PartKind::kImage) {
          where = "messages[" + std::to_string(i) + "].content[" + std::to_string(j) + "]";
          break;
        }
      }
    }
  }
  std::string models;
  for (const std::string& m : s.gw.config.vision_models) models += (models.empty() ? "" : ", ") + m;
  std::string message = "The model '" + req.model + "' does not accept images; models that do: " +
                        (models.empty() ? "none configured" : models) +
                        " (or set VISION_MODEL to route image requests)";
  if (s.dialect == Dialect::kMessages) message = where + ": " + message;
  return make_error(Errc::kUnsupportedValue, std::move(message), where);
}

// After parsing, for every dialect: the mode's field rules, then the model.
bool admit(ExchangeState& s, CanonicalRequest& req, int64_t now) {
  GatewayCore& gw = s.gw;
  const Config& cfg = gw.config;
  // Fields before model (docs/contract.md §7.2): the mode's field rules come first.
  Status mode_ok =
      cfg.mode == UpstreamMode::kGuest ? guest::check_request(req) : api::check_request(req);
  if (mode_ok.ok() && req.response_format == ResponseFormat::kJsonSchema &&
      cfg.json_schema == JsonSchemaMode::kRefuse) {
    mode_ok =
        make_error(Errc::kUnsupportedValue,
                   "json_schema structured output is turned off (JSON_SCHEMA=refuse); use "
                   "json_object",
                   s.dialect == Dialect::kMessages ? "output_config.format" : "response_format");
  }
  if (!mode_ok) {
    respond_error(s, s.dialect == Dialect::kMessages ? messages_field_error(mode_ok.error())
                     : s.dialect == Dialect::kResponses
                         ? responses_field_error(mode_ok.error(), req)
                         : mode_ok.error());
    return false;
  }
  const std::string name = resolve_model(s, req.model);
  if (name.empty()) return false;
  if (req.web_search && (!cfg.web_search || cfg.mode != UpstreamMode::kApi)) {
    respond_error(s,
                  make_error(Errc::kUnsupportedValue,
                             cfg.web_search ? "web search needs API mode (UPSTREAM_MODE=api)"
                                            : "web_search_options are not served (WEB_SEARCH=off)",
                             "web_search_options"));
    return false;
  }
  if (cfg.mode == UpstreamMode::kApi && req.has_image_parts() &&
      !cfg.is_vision_model(s.upstream_model)) {
    if (cfg.vision_model.empty()) {
      respond_error(s, image_refusal(s, req));
      return false;
    }
    s.upstream_model = cfg.vision_model;  // adapted to its caps like any target
  }
  if (!key_allows(s, name)) return false;
  s.first_model = s.upstream_model;
  s.asked_max_tokens = req.max_tokens;
  s.asked_thinking = req.thinking;
  s.asked_effort = req.reasoning_effort;
  s.asked_send_effort = req.send_effort;
  if (s.dialect != Dialect::kResponses) s.client_stream = req.stream;
  s.chat.emplace(std::move(req));
  s.deadline_total = now + cfg.request_deadline_ms;
  return true;
}

// After the key's limits admitted the request: Messages' max_tokens 0 is answered at once
// (nothing may be generated), everything else goes upstream.
void answer_or_attempt(ExchangeState& s, int64_t now) {
  if (s.dialect == Dialect::kMessages && s.chat->max_tokens && *s.chat->max_tokens == 0) {
    auto emitter = make_emitter(s);
    (void)emitter->on_end(AnswerEnd{FinishReason::kLength, {}, {}});
    s.stop_reason = "max_tokens";
    if (s.client_stream) {
      commit_stream(s, now);
      s.out += emitter->take_output();
      finish_action(s);
    } else {
      respond_json(s, 200, emitter->take_output());
    }
    return;
  }
  start_attempt(s, now);
}

// The key's limits (at once, or once the shared store answered), then the answer.
void go_on(ExchangeState& s, int64_t now) {
  if (admit_limits(s, now) == Admit::kGo) answer_or_attempt(s, now);
}

}  // namespace

std::string resolve_model(ExchangeState& s, const std::string& model) {
  const Config& cfg = s.gw.config;
  const std::string name =
      s.dialect == Dialect::kMessages ? cfg.resolve_claude_model(model) : model;
  if (const ModelEntry* m = name.empty() ? nullptr : cfg.find_model(name)) {
    s.upstream_model = m->upstream_id;
  } else if (cfg.mode == UpstreamMode::kApi && !name.empty()) {
    s.upstream_model = name;  // unlisted names pass through; upstream 1211 -> 404
  } else {
    respond_error(
        s, make_error(Errc::kModelNotFound, "The model '" + model + "' does not exist", "model"));
    return {};
  }
  return name;
}

void messages_on_body(ExchangeState& s, std::string_view body, int64_t now) {
  auto parsed = parse_messages_request(body, MessagesRoute::kCreate);
  if (!parsed) {
    respond_error(s, parsed.error());
    return;
  }
  MessagesRequest& req = *parsed;
  const std::string& image_path = req.canonical.image_path;
  if (s.gw.config.mode == UpstreamMode::kGuest && !image_path.empty()) {
    // Named by its own path: the canonical request no longer knows where the block was.
    respond_error(s,
                  make_error(Errc::kUnsupportedValue,
                             image_path + ": image blocks are not supported in guest mode (guests "
                                          "cannot upload files); use API mode (UPSTREAM_MODE=api)",
                             image_path));
    return;
  }
  s.thinking_text = req.thinking_text;
  s.input_estimate = req.input_estimate;
  s.completion_id = s.ids.alnum("msg_", 24);
  if (!admit(s, req.canonical, now)) return;
  go_on(s, now);
}

void responses_on_body(ExchangeState& s, std::string_view body, int64_t now) {
  auto parsed = parse_responses_request(body);
  if (!parsed) {
    respond_error(s, parsed.error());
    return;
  }
  ResponsesRequest& req = *parsed;
  // Upstream always streams; the client gets a stream or one object, as it asked.
  s.client_stream = req.canonical.stream;
  req.canonical.stream = true;
  s.completion_id = "resp_" + s.ids.hex(2);
  if (req.web_search && s.gw.config.web_search && s.gw.config.mode == UpstreamMode::kApi) {
    req.canonical.web_search = true;  // served, not declined
    std::erase_if(req.declined_tools,
                  [](const std::string& t) { return t.starts_with("web_search"); });
  }
  s.responses.emplace(std::move(req));
  if (!admit(s, s.responses->canonical, now)) return;
  go_on(s, now);
}

void chat_on_body(ExchangeState& s, std::string_view body, int64_t now) {
  auto req = parse_chat_request(body);
  if (!req) {
    respond_error(s, req.error());
    return;
  }
  s.completion_id = s.ids.alnum("chatcmpl-", 29);
  if (!admit(s, *req, now)) return;
  go_on(s, now);
}

void chat_on_head(ExchangeState& s, int status, int64_t now) {
  s.upstream_status = status;
  s.last_upstream = now;
  s.action = Action::kReadUpstream;
  if (status != 200) {
    s.phase = Phase::kErrorBody;
    return;
  }
  const Config& cfg = s.gw.config;
  const UpstreamShape shape = cfg.mode == UpstreamMode::kGuest ? UpstreamShape::kGuestStream
                              : s.chat->stream                 ? UpstreamShape::kApiStream
                                                               : UpstreamShape::kApiBody;
  s.translator.emplace(shape, s.dialect, make_emitter(s), thinking_mode(s), s.chat->stop,
                       SseLimits::from_mib(cfg.sse_max_event_bytes >> 20), s.gw.wall_at(now),
                       &s.gw.answer_json);
  if (s.chat->response_format == ResponseFormat::kJsonSchema) s.translator->check_json();
  s.phase = Phase::kUpstreamBody;
}

void chat_on_data(ExchangeState& s, std::string_view bytes, int64_t now) {
  s.last_upstream = now;
  if (s.phase == Phase::kErrorBody) {
    const size_t room = kMaxErrorBody - std::min(kMaxErrorBody, s.error_body.size());
    s.error_body.append(bytes.substr(0, std::min(room, bytes.size())));
    return;
  }
  if (s.phase != Phase::kUpstreamBody) return;
  if (s.first_body_at < 0) s.first_body_at = now;
  s.translator->feed(bytes);
  after_translate(s, now);
}

void chat_on_end(ExchangeState& s, int64_t now) {
  if (s.phase == Phase::kErrorBody) {
    const UpstreamFailure f =
        s.gw.config.mode == UpstreamMode::kGuest
            ? guest::classify_http_failure(s.upstream_status, s.error_body)
            : api::classify_failure(s.upstream_status, s.error_body, s.gw.wall_at(now));
    handle_failure(s, f, now);
  } else if (s.phase == Phase::kUpstreamBody) {
    s.translator->finish();
    after_translate(s, now);
  } else if (s.phase == Phase::kConnect || s.phase == Phase::kHead) {
    chat_on_net_error(s, NetError::kReset, now);
  }
}

void chat_on_net_error(ExchangeState& s, NetError error, int64_t now) {
  switch (s.phase) {
    case Phase::kConnect:
    case Phase::kHead:
      handle_failure(s, transient(Errc::kUpstreamError, "Could not reach the upstream service"),
                     now);
      return;
    case Phase::kErrorBody: chat_on_end(s, now); return;
    case Phase::kUpstreamBody:
      if (s.translator->ended()) return;
      handle_failure(s,
                     transient(Errc::kUpstreamTruncated,
                               "The upstream connection was lost before the answer ended"),
                     now);
      return;
    default: return;
  }
}

int64_t chat_deadline(const ExchangeState& s) {
  const Config& cfg = s.gw.config;
  int64_t d = committed(s) ? kNever : s.deadline_total;
  switch (s.phase) {
    case Phase::kWaitCredential: return std::min(d, s.wait_until);
    case Phase::kWaitStore: return s.store_deadline;
    case Phase::kConnect: return std::min(d, s.attempt_start + cfg.connect_timeout_ms);
    case Phase::kHead: return std::min(d, s.attempt_start + cfg.first_byte_timeout_ms);
    case Phase::kErrorBody: return std::min(d, s.last_upstream + cfg.stream_idle_timeout_ms);
    case Phase::kUpstreamBody:
      d = std::min(d, s.last_upstream + cfg.stream_idle_timeout_ms);
      if (s.client_stream) d = std::min(d, s.last_output + cfg.keepalive_ms);
      return d;
    default: return kNever;
  }
}

void chat_on_timer(ExchangeState& s, int64_t now) {
  const Config& cfg = s.gw.config;
  if (s.phase == Phase::kDone || s.phase == Phase::kBody) return;
  if (s.phase == Phase::kWaitStore && s.route == Route::kUsage) {
    usage_on_timer(s, now);
    return;
  }
  if (s.phase == Phase::kWaitStore && s.route == Route::kAdmin) {
    key_page_on_timer(s, now);
    return;
  }
  if (s.phase == Phase::kWaitStore) {
    if (admission_on_timer(s, now) == Admit::kGo) answer_or_attempt(s, now);
    return;
  }
  if (s.phase == Phase::kWaitCredential) {
    start_attempt(s, now);
    return;
  }
  if (!committed(s) && now >= s.deadline_total) {
    s.gw.metrics.attempt(cfg.mode, AttemptOutcome::kTimeout);
    release_lease(s, nullptr, now);
    deadline_expired(s);
    return;
  }
  const auto timeout = [&](std::string message) {
    handle_failure(s, transient(Errc::kUpstreamTimeout, std::move(message)), now,
                   AttemptOutcome::kTimeout);
  };
  if (s.phase == Phase::kConnect && now >= s.attempt_start + cfg.connect_timeout_ms) {
    timeout("Connecting to the upstream service timed out");
  } else if (s.phase == Phase::kHead && now >= s.attempt_start + cfg.first_byte_timeout_ms) {
    timeout("The upstream service did not start answering in time");
  } else if ((s.phase == Phase::kUpstreamBody || s.phase == Phase::kErrorBody) &&
             now >= s.last_upstream + cfg.stream_idle_timeout_ms) {
    timeout("The upstream stream went silent for too long");
  } else if (s.phase == Phase::kUpstreamBody && s.client_stream &&
             now >= s.last_output + cfg.keepalive_ms) {
    if (!s.head_ready) commit_stream(s, now);
    s.translator->write_keepalive();
    s.out += s.translator->take_output();
    s.last_output = now;
  }
}

void chat_on_client_gone(ExchangeState& s, int64_t now) {
  if (s.phase == Phase::kDone) return;
  if (s.lease) {
    s.gw.metrics.attempt(s.gw.config.mode, AttemptOutcome::kCancelled);
    const UpstreamFailure cancelled = transient(Errc::kUpstreamError, "client went away");
    release_lease(s, &cancelled, now);
  }
  if (!s.head_ready) s.status = 499;  // nginx's "client closed request", for logs only
  s.error_code = "client_closed";
  finish_action(s);
}

}  // namespace zproxy
