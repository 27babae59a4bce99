// POST /v1/messages/count_tokens (docs/contract.md, Messages count_tokens): Z.AI's tokenizer
// in API mode with COUNT_TOKENS=auto, one attempt on one pooled key; the documented estimate
// otherwise and whenever the tokenizer gives no number (any status, business code, timeout,
// more than 128 tools). Only a dead key is reported to the pool: answers that are the
// tokenizer's own (404, unknown model, …) say nothing about the key.

#include <algorithm>

#include "dialect/anthropic_messages/messages_request.h"
#include "engine/gateway_impl.h"
#include "upstream/zai_api/api.h"

namespace zproxy {
namespace {

constexpr size_t kMaxTokenizerTools = 128;
constexpr size_t kMaxTokenizerBody = 64 * 1024;

void answer_count(ExchangeState& s, int64_t n, bool tokenizer) {
  s.gw.metrics.count_tokens(tokenizer);
  s.count_source = tokenizer ? "tokenizer" : "estimate";
  s.counting = false;
  respond_json(s, 200, "{\"input_tokens\":" + std::to_string(n) + "}");
}

// The tokenizer's part is over: give the key back (reporting only a dead one).
void end_call(ExchangeState& s, int64_t now, bool dead) {
  if (!s.lease) return;
  if (dead) {
    s.gw.pool.release_failed(*s.lease, Verdict::kDead, now);
  } else {
    s.gw.pool.release_ok(*s.lease, now);
  }
  s.lease.reset();
}

void fall_back(ExchangeState& s, int64_t now, bool dead = false) {
  end_call(s, now, dead);
  answer_count(s, s.input_estimate, false);
}

}  // namespace

void count_on_body(ExchangeState& s, std::string_view body, int64_t now) {
  GatewayCore& gw = s.gw;
  const Config& cfg = gw.config;
  auto parsed = parse_messages_request(body, MessagesRoute::kCountTokens);
  if (!parsed) {
    respond_error(s, parsed.error());
    return;
  }
  const CanonicalRequest& req = parsed->canonical;
  if (resolve_model(s, req.model).empty()) return;
  s.input_estimate = parsed->input_estimate;
  const bool tokenizer = cfg.count_tokens == CountTokens::kAuto && cfg.mode == UpstreamMode::kApi &&
                         req.tools.size() <= kMaxTokenizerTools;
  if (!tokenizer) {
    answer_count(s, s.input_estimate, false);
    return;
  }
  const Acquire a = gw.pool.acquire(now);
  if (a.status != AcquireStatus::kLeased) {
    answer_count(s, s.input_estimate, false);  // no key free now: not worth waiting for
    return;
  }
  s.lease = a.lease;
  s.fingerprint = gw.pool.fingerprint(a.lease);
  s.upstream = api::build_tokenizer_request(req, cfg, s.upstream_model, gw.pool.secret(a.lease));
  s.counting = true;
  s.attempts = 1;
  s.attempt_start = now;
  s.last_upstream = now;
  s.phase = Phase::kConnect;
  s.action = Action::kFetch;
}

void count_on_head(ExchangeState& s, int status, int64_t now) {
  s.upstream_status = status;
  s.last_upstream = now;
  s.phase = Phase::kErrorBody;  // the whole body is read, whatever the status
  s.action = Action::kReadUpstream;
}

void count_on_data(ExchangeState& s, std::string_view bytes, int64_t now) {
  s.last_upstream = now;
  if (s.phase != Phase::kErrorBody) return;
  const size_t room = kMaxTokenizerBody - std::min(kMaxTokenizerBody, s.error_body.size());
  s.error_body.append(bytes.substr(0, std::min(room, bytes.size())));
}

void count_on_end(ExchangeState& s, int64_t now) {
  if (s.phase != Phase::kErrorBody) {
    fall_back(s, now);  // no answer (connection failed or cut before the head)
    return;
  }
  if (s.upstream_status == 200) {
    if (const auto n = api::tokenizer_count(s.error_body)) {
      end_call(s, now, false);
      answer_count(s, *n, true);
      return;
    }
  }
  const UpstreamFailure f =
      api::classify_failure(s.upstream_status, s.error_body, s.gw.wall_at(now));
  fall_back(s, now, f.verdict == Verdict::kDead);
}

int64_t count_deadline(const ExchangeState& s) {
  const Config& cfg = s.gw.config;
  switch (s.phase) {
    case Phase::kConnect: return s.attempt_start + cfg.connect_timeout_ms;
    case Phase::kHead: return s.attempt_start + cfg.first_byte_timeout_ms;
    case Phase::kErrorBody: return s.last_upstream + cfg.first_byte_timeout_ms;
    default: return kNever;
  }
}

void count_on_timer(ExchangeState& s, int64_t now) {
  if (s.phase == Phase::kDone) return;
  if (now >= count_deadline(s)) fall_back(s, now);
}

void count_on_client_gone(ExchangeState& s, int64_t now) {
  if (s.phase == Phase::kDone) return;
  end_call(s, now, false);
  s.counting = false;
  if (!s.head_ready) s.status = 499;
  s.error_code = "client_closed";
  finish_action(s);
}

}  // namespace zproxy
