// A client key's model list and limits (docs/contract.md §3.6 and §15): admission with the
// memory backend at once, or through the shared store with local memory deciding when the
// store cannot; the lease an admitted request holds, renews and settles; GET /v1/usage.

#include "core/civil_time.h"
#include "engine/gateway_impl.h"

namespace zproxy {
namespace {

// OpenAI's duration form for x-ratelimit-reset-requests: "1m2s", "59s", "250ms".
std::string duration_text(int64_t ms) {
  if (ms < 1000) return std::to_string(std::max<int64_t>(ms, 0)) + "ms";
  const int64_t secs = (ms + 999) / 1000;
  if (secs < 60) return std::to_string(secs) + "s";
  return std::to_string(secs / 60) + "m" + (secs % 60 ? std::to_string(secs % 60) + "s" : "");
}

StoreOp key_op(const ExchangeState& s, StoreOpKind kind) {
  StoreOp op;
  op.kind = kind;
  op.key = s.key->name;
  op.lease = s.key_lease;
  op.ttl_ms = s.gw.config.state.lease_ttl_ms;
  if (kind == StoreOpKind::kAdmit) op.limits = s.key->quota();
  return op;
}

// The admission's headers, and the answer when a limit refused.
Admit apply_admission(ExchangeState& s, const Admission& a, int64_t now) {
  const ClientKey& key = *s.key;
  const int64_t wall = s.gw.wall_at(now);
  if (key.rpm) {
    const std::string limit = std::to_string(*key.rpm);
    const std::string remaining = std::to_string(a.rpm_remaining);
    s.headers.push_back({"x-ratelimit-limit-requests", limit});
    s.headers.push_back({"x-ratelimit-remaining-requests", remaining});
    s.headers.push_back({"x-ratelimit-reset-requests", duration_text(a.rpm_reset_ms)});
    if (s.dialect == Dialect::kMessages) {
      s.headers.push_back({"anthropic-ratelimit-requests-limit", limit});
      s.headers.push_back({"anthropic-ratelimit-requests-remaining", remaining});
      s.headers.push_back({"anthropic-ratelimit-requests-reset",
                           format_datetime(wall + a.rpm_reset_ms, 'T') + "Z"});
    }
  }
  const int64_t retry_s = (a.retry_after_ms + 999) / 1000;
  switch (a.refused) {
    case Limit::kNone:
      s.admitted = true;
      s.lease_renewed = now;
      return Admit::kGo;
    case Limit::kRpm:
      s.gw.metrics.client_limited(key.name, "rpm");
      respond_error(s,
                    make_error(Errc::kRateLimitExceeded,
                               "The key '" + key.name + "' is over its limit of " +
                                   std::to_string(*key.rpm) + " requests per minute"),
                    retry_s);
      return Admit::kStop;
    case Limit::kConcurrency:
      s.gw.metrics.client_limited(key.name, "concurrency");
      respond_error(s,
                    make_error(Errc::kRateLimitExceeded, "The key '" + key.name + "' already has " +
                                                             std::to_string(*key.max_concurrent) +
                                                             " requests open"),
                    1);
      return Admit::kStop;
    case Limit::kTokensPerDay:
    case Limit::kTokensPerMonth: {
      const bool day = a.refused == Limit::kTokensPerDay;
      s.gw.metrics.client_limited(key.name, day ? "tokens_per_day" : "tokens_per_month");
      s.headers.push_back({"x-should-retry", "false"});
      respond_error(
          s,
          make_error(Errc::kInsufficientQuota,
                     "The key '" + key.name + "' has used its " +
                         std::to_string(day ? *key.tokens_per_day : *key.tokens_per_month) +
                         " tokens per " + (day ? "day" : "month") + "; it resets at " +
                         format_datetime(wall + a.retry_after_ms, 'T') + "Z"),
          retry_s);
      return Admit::kStop;
    }
  }
  return Admit::kGo;
}

// Local memory decides: the memory backend, or a shared store that did not answer in time.
Admit admit_locally(ExchangeState& s, int64_t now) {
  const StoreOp op = key_op(s, StoreOpKind::kAdmit);
  return apply_admission(s, s.gw.local.apply(op, s.gw.wall_at(now)).admission, now);
}

// Sends the usage of the caller's key to the shared store and waits for it, or answers.
void write_usage_answer(ExchangeState& s, const KeyUsage& u, bool from_store) {
  JsonBuffer buf;
  JsonWriter w(buf);
  write_key_usage(w, s.key ? &*s.key : nullptr, u, from_store);
  respond_json(s, 200, buf.take());
}

void wait_for_store(ExchangeState& s, int64_t now) {
  s.store_deadline = now + s.gw.config.state.timeout_ms;
  s.phase = Phase::kWaitStore;
  s.action = Action::kWait;
}

void wait_for_store(ExchangeState& s, StoreOp op, int64_t now) {
  s.store_job = store_send(s.gw, std::move(op), true);
  wait_for_store(s, now);
}

StoreOp usage_op(const std::string& key) {
  StoreOp op;
  op.kind = StoreOpKind::kUsage;
  op.key = key;
  return op;
}

// The page's keys: each from the store's reply when it came in time, else from local memory.
void write_key_page(ExchangeState& s, int64_t now) {
  GatewayCore& gw = s.gw;
  const int64_t wall = gw.wall_at(now);
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("object");
  w.String("list");
  w.Key("data");
  w.StartArray();
  for (size_t i = 0; i < s.page_keys.size(); ++i) {
    const ClientKey& key = s.page_keys[i];
    const uint64_t job = i < s.page_jobs.size() ? s.page_jobs[i] : 0;
    std::optional<StoreOutcome> got = job ? store_take(gw, job) : std::nullopt;
    if (got && got->ok) {
      write_key_usage(w, &key, got->reply.usage, true);
      continue;
    }
    if (job && !got) {
      store_abandon(gw, job, StoreOpKind::kUsage);
    } else if (got) {
      gw.metrics.store_fallback("usage");
    }
    StoreOp op;
    op.key = key.name;
    write_key_usage(w, &key, gw.local.apply(op, wall).usage, false);
  }
  s.page_jobs.clear();
  w.EndArray();
  w.Key("first_id");
  if (!s.page_keys.empty()) {
    w.String(s.page_keys.front().name);
  } else {
    w.Null();
  }
  w.Key("last_id");
  if (!s.page_keys.empty()) {
    w.String(s.page_keys.back().name);
  } else {
    w.Null();
  }
  w.Key("has_more");
  w.Bool(s.page_has_more);
  w.EndObject();
  respond_json(s, 200, buf.take());
}

}  // namespace

// One key as GET /v1/usage shows it.
void write_key_usage(JsonWriter& w, const ClientKey* key, const KeyUsage& u, bool from_store) {
  auto limit = [&](std::string_view name, const std::optional<int64_t>& v) {
    w.Key(name);
    if (v) {
      w.Int64(*v);
    } else {
      w.Null();
    }
  };
  const ClientKey none;
  const ClientKey& k = key ? *key : none;
  w.StartObject();
  w.Key("name");
  if (key) {
    w.String(key->name);
  } else {
    w.Null();  // open access: nobody in particular
  }
  w.Key("limits");
  w.StartObject();
  w.Key("models");
  if (!k.models.empty()) {
    w.StartArray();
    for (const std::string& m : k.models) w.String(m);
    w.EndArray();
  } else {
    w.Null();
  }
  limit("rpm", k.rpm);
  limit("max_concurrent", k.max_concurrent);
  limit("tokens_per_day", k.tokens_per_day);
  limit("tokens_per_month", k.tokens_per_month);
  w.Key("expires_at");
  if (k.expires_at_ms) {
    w.String(format_datetime(*k.expires_at_ms, 'T') + "Z");
  } else {
    w.Null();
  }
  w.EndObject();
  write_key_usage_json(w, u, false);
  w.Key("source");
  w.String(from_store ? "store" : "local");
  w.EndObject();
}

// The key's model list (matched after model-name resolution).
bool key_allows(ExchangeState& s, const std::string& model) {
  if (!s.key || s.key->allows(model)) return true;
  respond_error(s, make_error(Errc::kModelNotAllowed,
                              "The key '" + s.key->name + "' may not use the model '" + model + "'",
                              "model"));
  return false;
}

// Every key's usage is counted (GET /v1/usage); only its own limits refuse. Keys without
// limits never wait for a shared store.
Admit admit_limits(ExchangeState& s, int64_t now) {
  if (!s.key) return Admit::kGo;
  s.key_lease = s.ids.hex(2);
  if (!s.gw.shared || !s.key->limited()) return admit_locally(s, now);
  wait_for_store(s, key_op(s, StoreOpKind::kAdmit), now);
  return Admit::kWait;
}

Admit admission_on_timer(ExchangeState& s, int64_t now) {
  std::optional<StoreOutcome> got = store_take(s.gw, s.store_job);
  if (!got && now < s.store_deadline) return Admit::kWait;
  s.phase = Phase::kDone;  // until the answer or the attempt sets it
  s.store_deadline = kNever;
  if (got && got->ok) {
    s.store_admitted = true;
    const Admit a = apply_admission(s, got->reply.admission, now);
    if (a == Admit::kStop) s.store_admitted = false;
    return a;
  }
  if (!got)
    store_abandon(s.gw, s.store_job, StoreOpKind::kAdmit);
  else
    s.gw.metrics.store_fallback("admit");
  return admit_locally(s, now);
}

int64_t lease_deadline(const ExchangeState& s) {
  return s.admitted ? s.lease_renewed + s.gw.config.state.lease_ttl_ms / 2 : kNever;
}

void renew_lease(ExchangeState& s, int64_t now) {
  if (!s.admitted || now < lease_deadline(s)) return;
  const StoreOp op = key_op(s, StoreOpKind::kRenew);
  if (s.store_admitted) {
    store_send(s.gw, op, false);
  } else {
    s.gw.local.apply(op, s.gw.wall_at(now));
  }
  s.lease_renewed = now;
}

// The key's slot comes back; its tokens are charged from upstream's usage, else estimated
// from the bytes both ways (⌈bytes/4⌉) when an answer started but reported none.
void settle_key(ExchangeState& s, int64_t now, int64_t wall) {
  GatewayCore& gw = s.gw;
  if (s.store_job != 0) gw.store_awaited.erase(s.store_job);
  for (uint64_t job : s.page_jobs) gw.store_awaited.erase(job);  // a page nobody waits for
  if (!s.admitted) return;
  int64_t tokens = s.charged_tokens;
  if (tokens <= 0 && s.output_bytes > 0 && s.status == 200) {
    tokens = static_cast<int64_t>((s.request_bytes + s.output_bytes + 3) / 4);
  }
  StoreOp op = key_op(s, StoreOpKind::kSettle);
  op.tokens = tokens;
  gw.local.apply(op, wall);  // local memory keeps counting: the fallback starts from it
  if (s.store_admitted) {
    store_send_later(gw, std::move(op), now);
  } else if (gw.shared && tokens > 0 && s.key->limited()) {
    gw.unsettled[s.key->name] += tokens;  // decided locally: the store gets them when it can
    if (gw.store_health != StoreHealth::kDown) {
      StoreOp owed;
      owed.kind = StoreOpKind::kSettle;
      owed.key = s.key->name;
      owed.tokens = gw.unsettled[s.key->name];
      gw.unsettled.erase(s.key->name);
      store_send(gw, std::move(owed), false);
    }
  }
  if (tokens > 0) gw.metrics.client_tokens(s.key->name, tokens);
}

// GET /v1/usage: the caller's own key, its limits and what it has used; from the shared
// store when it answers in time.
void answer_usage(ExchangeState& s, int64_t now) {
  // Keys without limits never reach the store: their usage is this replica's.
  if (!s.key || !s.gw.shared || !s.key->limited()) {
    StoreOp op;
    if (s.key) op.key = s.key->name;
    const KeyUsage u = s.key ? s.gw.local.apply(op, s.gw.wall_at(now)).usage : KeyUsage{};
    write_usage_answer(s, u, false);
    return;
  }
  wait_for_store(s, usage_op(s.key->name), now);
}

void answer_key_page(ExchangeState& s, size_t start, size_t end, int64_t now) {
  GatewayCore& gw = s.gw;
  const std::vector<ClientKey>& keys = gw.config.client_keys;
  s.page_keys.assign(keys.begin() + static_cast<std::ptrdiff_t>(start),
                     keys.begin() + static_cast<std::ptrdiff_t>(end));
  s.page_has_more = end < keys.size();
  s.page_jobs.assign(s.page_keys.size(), 0);
  bool asked = false;
  for (size_t i = 0; gw.shared && i < s.page_keys.size(); ++i) {
    if (!s.page_keys[i].limited()) continue;  // never in the store: the replica's own usage
    s.page_jobs[i] = store_send(gw, usage_op(s.page_keys[i].name), true);
    asked = true;
  }
  if (!asked) {
    write_key_page(s, now);
    return;
  }
  wait_for_store(s, now);
}

void key_page_on_timer(ExchangeState& s, int64_t now) {
  if (now < s.store_deadline) {
    for (uint64_t job : s.page_jobs) {
      if (job && !store_ready(s.gw, job)) return;
    }
  }
  s.store_deadline = kNever;
  write_key_page(s, now);
}

void usage_on_timer(ExchangeState& s, int64_t now) {
  std::optional<StoreOutcome> got = store_take(s.gw, s.store_job);
  if (!got && now < s.store_deadline) return;
  s.store_deadline = kNever;
  if (got && got->ok) {
    write_usage_answer(s, got->reply.usage, true);
    return;
  }
  if (!got)
    store_abandon(s.gw, s.store_job, StoreOpKind::kUsage);
  else
    s.gw.metrics.store_fallback("usage");
  StoreOp op;
  op.key = s.key->name;
  write_usage_answer(s, s.gw.local.apply(op, s.gw.wall_at(now)).usage, false);
}

}  // namespace zproxy
