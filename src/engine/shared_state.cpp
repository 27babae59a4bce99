// The gateway's side of a shared state store (docs/contract.md §14): operations handed to the
// host as StoreCall jobs, their replies, the store's up/down state with its logs and metrics,
// credential health published and refreshed, and what a replica owes the store after an
// outage. The memory backend (GatewayCore::local) decides whenever the store cannot.

#include "engine/gateway_impl.h"
#include "engine/log.h"

namespace zproxy {
namespace {

std::string_view backend_name(StateBackend b) {
  switch (b) {
    case StateBackend::kRedis: return "redis";
    case StateBackend::kDurableObject: return "durable_object";
    case StateBackend::kMemory: break;
  }
  return "memory";
}

// Where the store is, for logs: host:port, never a password.
std::string store_where(const GatewayCore& gw) {
  return gw.config.state.backend == StateBackend::kRedis ? gw.config.state.redis.endpoint()
                                                         : "ZP_STATE";
}

void went_down(GatewayCore& gw, std::string_view reason, int64_t wall) {
  if (gw.store_health == StoreHealth::kDown) return;
  gw.store_health = StoreHealth::kDown;
  gw.store_down_since = wall;
  gw.metrics.store_up(false);
  gw.emit_log(LogLevel::kWarn, LogLine(wall, LogLevel::kWarn, "state_store_down", "")
                                   .str("backend", backend_name(gw.config.state.backend))
                                   .str("store", store_where(gw))
                                   .str("reason", reason)
                                   .done());
}

void publish(GatewayCore& gw, const SharedMark& m, int64_t now) {
  StoreOp op;
  op.kind = StoreOpKind::kMark;
  op.cid = m.cid;
  op.mark = m.dead ? CredMark::kDead : CredMark::kCool;
  op.ttl_ms = m.dead ? gw.config.state.dead_ttl_s * 1000 : m.until - now;
  if (op.ttl_ms > 0) store_send(gw, std::move(op), false);
}

// Back after an outage: what this replica learned and charged meanwhile goes to the store.
void came_up(GatewayCore& gw, int64_t now, int64_t wall) {
  const StoreHealth was = gw.store_health;
  gw.store_health = StoreHealth::kUp;
  gw.metrics.store_up(true);
  if (was != StoreHealth::kDown) return;
  gw.emit_log(LogLevel::kInfo, LogLine(wall, LogLevel::kInfo, "state_store_up", "")
                                   .str("backend", backend_name(gw.config.state.backend))
                                   .str("store", store_where(gw))
                                   .num("down_ms", wall - gw.store_down_since)
                                   .done());
  if (gw.config.mode == UpstreamMode::kApi) {
    for (const SharedMark& m : gw.pool.local_marks(now)) publish(gw, m, now);
  }
  std::map<std::string, int64_t, std::less<>> owed;
  owed.swap(gw.unsettled);
  for (auto& [key, tokens] : owed) {
    StoreOp op;
    op.kind = StoreOpKind::kSettle;
    op.key = key;
    op.tokens = tokens;
    store_send(gw, std::move(op), false);
  }
}

}  // namespace

void configure_store(GatewayCore& gw) {
  StateSettings& st = gw.config.state;
  if (st.timeout_ms == 0) st.timeout_ms = gw.limits.store_timeout_ms;
  if (st.sync_ms == 0) st.sync_ms = gw.limits.store_sync_ms;
  if (st.lease_ttl_ms == 0) st.lease_ttl_ms = gw.limits.lease_ttl_ms;
  gw.metrics.store_backend(backend_name(st.backend));
  if (st.backend != StateBackend::kMemory && st.backend != gw.limits.store_backend) {
    gw.config_error =
        make_error(Errc::kInvalidConfig, "STATE_STORE=" + std::string(backend_name(st.backend)) +
                                             " is not available on this host (" +
                                             (gw.limits.store_backend == StateBackend::kRedis
                                                  ? "native: memory or redis"
                                                  : "Worker: memory or durable_object") +
                                             ")");
    return;
  }
  gw.shared = st.backend != StateBackend::kMemory;
}

namespace {

// Held settlements go out ahead of whatever is sent next, in the order they were made.
void release_held(GatewayCore& gw) {
  if (gw.store_held.empty()) return;
  for (Job& j : gw.store_held) gw.store_jobs.push_back(std::move(j));
  gw.store_held.clear();
  gw.store_held_until = kNever;
}

// A store call's job, its operation kept until the result comes back.
Job new_store_job(GatewayCore& gw, StoreOp op) {
  const uint64_t id = gw.next_job_id++;
  gw.store_in_flight.emplace(id, op);
  return Job{id, StoreCall{std::move(op), gw.config.state.timeout_ms}};
}

}  // namespace

uint64_t store_send(GatewayCore& gw, StoreOp op, bool awaited) {
  release_held(gw);
  Job job = new_store_job(gw, std::move(op));
  if (awaited) gw.store_awaited.emplace(job.id, std::nullopt);
  gw.store_jobs.push_back(std::move(job));
  return gw.store_jobs.back().id;
}

// A settlement needs no answer: it waits up to the host's hold to travel with the next call
// (the same write, and its reply in the same read), or goes out alone when the hold ends.
void store_send_later(GatewayCore& gw, StoreOp op, int64_t now) {
  const int64_t hold = gw.limits.store_settle_hold_ms;
  if (hold <= 0 || gw.shutting_down) {
    store_send(gw, std::move(op), false);
    return;
  }
  gw.store_held.push_back(new_store_job(gw, std::move(op)));
  gw.store_held_until = std::min(gw.store_held_until, now + hold);
}

int64_t store_poll(GatewayCore& gw, int64_t now) {
  if (now >= gw.store_held_until || gw.shutting_down) release_held(gw);
  return gw.store_held_until;
}

bool store_ready(const GatewayCore& gw, uint64_t id) {
  auto it = gw.store_awaited.find(id);
  return it != gw.store_awaited.end() && it->second.has_value();
}

std::optional<StoreOutcome> store_take(GatewayCore& gw, uint64_t id) {
  auto it = gw.store_awaited.find(id);
  if (it == gw.store_awaited.end() || !it->second) return std::nullopt;
  std::optional<StoreOutcome> out = std::move(it->second);
  gw.store_awaited.erase(it);
  return out;
}

void store_abandon(GatewayCore& gw, uint64_t id, StoreOpKind kind) {
  if (gw.store_awaited.erase(id) > 0) gw.metrics.store_fallback(store_op_name(kind));
}

void store_on_request(GatewayCore& gw, int64_t now) {
  if (!gw.shared || gw.config_error || gw.config.mode != UpstreamMode::kApi) return;
  if (gw.health_sync_in_flight || now < gw.next_health_sync) return;
  gw.health_sync_in_flight = true;
  gw.next_health_sync = now + gw.config.state.sync_ms;
  StoreOp op;
  op.kind = StoreOpKind::kHealth;
  store_send(gw, std::move(op), false);
}

void store_publish_failure(GatewayCore& gw, Lease lease, Verdict verdict, int64_t until,
                           int64_t now) {
  if (!gw.shared || gw.config.mode != UpstreamMode::kApi) return;
  if (verdict != Verdict::kDead && verdict != Verdict::kCooldown) return;
  const std::string cid = gw.pool.cid(lease);
  if (cid.empty()) return;
  const int64_t cool_until = until != 0 ? until : now + PoolSettings{}.busy_cooldown_ms;
  publish(gw, SharedMark{cid, verdict == Verdict::kDead, cool_until}, now);
}

void store_on_result(GatewayCore& gw, uint64_t id, const StoreResult& r, int64_t now,
                     int64_t wall) {
  auto it = gw.store_in_flight.find(id);
  if (it == gw.store_in_flight.end()) return;
  const StoreOp op = std::move(it->second);
  gw.store_in_flight.erase(it);
  if (op.kind == StoreOpKind::kHealth) gw.health_sync_in_flight = false;
  if (!r.ok) {
    const std::string_view reason = r.error.empty() ? std::string_view("error") : r.error;
    gw.metrics.store_error(store_op_name(op.kind), reason);
    went_down(gw, reason, wall);
    if (op.kind == StoreOpKind::kSettle && op.tokens > 0) gw.unsettled[op.key] += op.tokens;
  } else {
    came_up(gw, now, wall);
    if (op.kind == StoreOpKind::kHealth) {
      std::vector<SharedMark> marks;
      for (const HealthEntry& e : r.reply.health) {
        marks.push_back({e.cid, e.mark == CredMark::kDead, now + e.remaining_ms});
      }
      gw.pool.apply_shared_health(marks, now);
    }
    if (op.kind == StoreOpKind::kAdmit || op.kind == StoreOpKind::kUsage ||
        op.kind == StoreOpKind::kSettle) {
      gw.local.seed(op.key, r.reply.usage, wall);
    }
  }
  auto waiting = gw.store_awaited.find(id);
  if (waiting != gw.store_awaited.end()) {
    waiting->second = StoreOutcome{r.ok, r.reply};
    ++gw.own_version;  // the exchange waiting for it may go on
  }
}

std::string_view store_state_name(const GatewayCore& gw) {
  if (!gw.shared) return "memory";
  return gw.store_health == StoreHealth::kDown ? "down" : "up";
}

}  // namespace zproxy
