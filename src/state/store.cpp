#include "state/store.h"

#include <algorithm>

#include "json/json.h"

namespace zproxy {
namespace {

constexpr std::string_view kOpNames[] = {"admit", "renew", "settle", "usage",
                                         "mark",  "clear", "health"};
constexpr std::string_view kLimitNames[] = {"", "rpm", "concurrency", "tokens_per_day",
                                            "tokens_per_month"};
constexpr std::string_view kMarkNames[] = {"none", "cool", "dead"};

template <size_t N>
std::optional<size_t> find_name(const std::string_view (&names)[N], std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return i;
  }
  return std::nullopt;
}

bool uses_key(StoreOpKind k) {
  return k == StoreOpKind::kAdmit || k == StoreOpKind::kRenew || k == StoreOpKind::kSettle ||
         k == StoreOpKind::kUsage;
}

Error bad(std::string what) {
  return make_error(Errc::kInternalError, "state store: " + std::move(what));
}

}  // namespace

std::string_view store_op_name(StoreOpKind kind) {
  return kOpNames[static_cast<size_t>(kind)];
}

StoreReply MemoryStore::apply(const StoreOp& op, int64_t now_ms) {
  StoreReply r;
  switch (op.kind) {
    case StoreOpKind::kAdmit:
      r.admission = keys_.admit(op.key, op.limits, op.lease, now_ms, op.ttl_ms);
      r.usage = keys_.usage(op.key, now_ms);
      break;
    case StoreOpKind::kRenew: r.live = keys_.renew(op.key, op.lease, now_ms, op.ttl_ms); break;
    case StoreOpKind::kSettle:
      keys_.settle(op.lease, op.key, op.tokens, now_ms);
      r.usage = keys_.usage(op.key, now_ms);
      break;
    case StoreOpKind::kUsage: r.usage = keys_.usage(op.key, now_ms); break;
    case StoreOpKind::kMark: {
      if (op.mark == CredMark::kNone || op.ttl_ms <= 0) break;
      const int64_t until = now_ms + op.ttl_ms;
      auto it = marks_.find(op.cid);
      if (it == marks_.end() || it->second.until <= now_ms) {
        marks_[op.cid] = Mark{op.mark, until};
      } else if (op.mark > it->second.mark) {
        it->second = Mark{op.mark, until};
      } else if (op.mark == it->second.mark) {
        it->second.until = std::max(it->second.until, until);
      }
      break;
    }
    case StoreOpKind::kClear: {
      auto it = marks_.find(op.cid);
      r.cleared = it != marks_.end() && it->second.until > now_ms;
      if (it != marks_.end()) marks_.erase(it);
      break;
    }
    case StoreOpKind::kHealth:
      std::erase_if(marks_, [&](const auto& m) { return m.second.until <= now_ms; });
      for (const auto& [cid, m] : marks_) r.health.push_back({cid, m.mark, m.until - now_ms});
      break;
  }
  return r;
}

void MemoryStore::seed(const std::string& key, const KeyUsage& usage, int64_t now_ms) {
  keys_.seed(key, usage, now_ms);
}

std::string MemoryStore::dump() const {
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  keys_.dump(w);
  w.Key("marks");
  w.StartObject();
  for (const auto& [cid, m] : marks_) {
    w.Key(cid);
    w.StartArray();
    w.String(kMarkNames[static_cast<size_t>(m.mark)]);
    w.Int64(m.until);
    w.EndArray();
  }
  w.EndObject();
  w.EndObject();
  return buf.take();
}

Status MemoryStore::load(std::string_view json) {
  *this = MemoryStore();
  Result<JsonDocument> doc = parse_json(json);
  if (!doc.ok()) return bad("stored state is not JSON");
  if (!keys_.load((*doc))) {
    *this = MemoryStore();
    return bad("stored counters are malformed");
  }
  for (const auto& [cid, a] : (*doc).member("marks").members()) {
    const std::optional<size_t> mark = find_name(kMarkNames, a.element(0).string());
    const std::optional<int64_t> until = a.element(1).int64();
    if (!mark || !until) {
      *this = MemoryStore();
      return bad("stored marks are malformed");
    }
    marks_[std::string(cid)] = Mark{static_cast<CredMark>(*mark), *until};
  }
  return ok_status();
}

void write_key_usage_json(JsonWriter& w, const KeyUsage& u, bool with_window) {
  w.Key("usage");
  w.StartObject();
  w.Key("requests_this_window");
  w.Int64(u.requests_this_window);
  w.Key("concurrent");
  w.Int64(u.concurrent);
  w.Key("tokens_today");
  w.Int64(u.tokens_today);
  w.Key("tokens_this_month");
  w.Int64(u.tokens_this_month);
  if (with_window) {
    w.Key("window_reset_ms");
    w.Int64(u.window_reset_ms);
  }
  w.EndObject();
}

std::string store_op_json(const StoreOp& op) {
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("op");
  w.String(store_op_name(op.kind));
  if (uses_key(op.kind)) {
    w.Key("key");
    w.String(op.key);
  }
  if (op.kind == StoreOpKind::kAdmit) {
    w.Key("limits");
    w.StartObject();
    const std::pair<std::string_view, const std::optional<int64_t>*> limits[] = {
        {"rpm", &op.limits.rpm},
        {"max_concurrent", &op.limits.max_concurrent},
        {"tokens_per_day", &op.limits.tokens_per_day},
        {"tokens_per_month", &op.limits.tokens_per_month}};
    for (const auto& [name, v] : limits) {
      if (!*v) continue;
      w.Key(name);
      w.Int64(**v);
    }
    w.EndObject();
  }
  if (op.kind == StoreOpKind::kAdmit || op.kind == StoreOpKind::kRenew ||
      op.kind == StoreOpKind::kSettle) {
    w.Key("lease");
    w.String(op.lease);
  }
  if (op.kind == StoreOpKind::kAdmit || op.kind == StoreOpKind::kRenew ||
      op.kind == StoreOpKind::kMark) {
    w.Key("ttl_ms");
    w.Int64(op.ttl_ms);
  }
  if (op.kind == StoreOpKind::kSettle) {
    w.Key("tokens");
    w.Int64(op.tokens);
  }
  if (op.kind == StoreOpKind::kMark || op.kind == StoreOpKind::kClear) {
    w.Key("cid");
    w.String(op.cid);
  }
  if (op.kind == StoreOpKind::kMark) {
    w.Key("mark");
    w.String(kMarkNames[static_cast<size_t>(op.mark)]);
  }
  w.EndObject();
  return buf.take();
}

Result<StoreOp> parse_store_op(std::string_view json, int64_t* at) {
  Result<JsonDocument> doc = parse_json(json);
  if (!doc.ok()) return bad("the operation is not JSON");
  const JsonValue v = *doc;
  StoreOp op;
  const std::optional<size_t> kind = find_name(kOpNames, v.member("op").string());
  if (!kind) return bad("unknown operation");
  op.kind = static_cast<StoreOpKind>(*kind);
  op.key = std::string(v.member("key").string());
  if (uses_key(op.kind) && (op.key.empty() || op.key.size() > 64)) return bad("bad key name");
  const JsonValue limits = v.member("limits");
  op.limits.rpm = limits.member("rpm").int64();
  op.limits.max_concurrent = limits.member("max_concurrent").int64();
  op.limits.tokens_per_day = limits.member("tokens_per_day").int64();
  op.limits.tokens_per_month = limits.member("tokens_per_month").int64();
  op.lease = std::string(v.member("lease").string());
  op.ttl_ms = v.member("ttl_ms").int64().value_or(KeyLimits::kNoExpiry);
  if (op.ttl_ms <= 0) return bad("ttl_ms must be positive");
  op.tokens = v.member("tokens").int64().value_or(0);
  op.cid = std::string(v.member("cid").string());
  if ((op.kind == StoreOpKind::kMark || op.kind == StoreOpKind::kClear) && op.cid.empty())
    return bad("cid missing");
  if (op.kind == StoreOpKind::kMark) {
    const std::optional<size_t> mark = find_name(kMarkNames, v.member("mark").string());
    if (!mark) return bad("unknown mark");
    op.mark = static_cast<CredMark>(*mark);
  }
  if (at != nullptr) *at = v.member("at").int64().value_or(*at);
  return op;
}

std::string store_reply_json(const StoreOp& op, const StoreReply& reply) {
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  switch (op.kind) {
    case StoreOpKind::kAdmit: {
      const Admission& a = reply.admission;
      w.Key("admitted");
      w.Bool(a.refused == Limit::kNone);
      if (a.refused != Limit::kNone) {
        w.Key("refused");
        w.String(kLimitNames[static_cast<size_t>(a.refused)]);
        w.Key("retry_after_ms");
        w.Int64(a.retry_after_ms);
      }
      w.Key("rpm_remaining");
      w.Int64(a.rpm_remaining);
      w.Key("rpm_reset_ms");
      w.Int64(a.rpm_reset_ms);
      write_key_usage_json(w, reply.usage, true);
      break;
    }
    case StoreOpKind::kRenew:
      w.Key("live");
      w.Bool(reply.live);
      break;
    case StoreOpKind::kSettle:
    case StoreOpKind::kUsage: write_key_usage_json(w, reply.usage, true); break;
    case StoreOpKind::kMark: break;
    case StoreOpKind::kClear:
      w.Key("cleared");
      w.Bool(reply.cleared);
      break;
    case StoreOpKind::kHealth:
      w.Key("health");
      w.StartArray();
      for (const HealthEntry& e : reply.health) {
        w.StartArray();
        w.String(e.cid);
        w.String(kMarkNames[static_cast<size_t>(e.mark)]);
        w.Int64(e.remaining_ms);
        w.EndArray();
      }
      w.EndArray();
      break;
  }
  w.EndObject();
  return buf.take();
}

Result<StoreReply> parse_store_reply(StoreOpKind kind, std::string_view json) {
  Result<JsonDocument> doc = parse_json(json);
  if (!doc.ok() || !(*doc).is_object()) return bad("the reply is not a JSON object");
  const JsonValue v = *doc;
  if (v.member("error")) return bad("the store refused the operation");
  StoreReply r;
  const auto usage = [&]() -> bool {
    const JsonValue u = v.member("usage");
    const std::pair<const char*, int64_t*> fields[] = {
        {"requests_this_window", &r.usage.requests_this_window},
        {"concurrent", &r.usage.concurrent},
        {"tokens_today", &r.usage.tokens_today},
        {"tokens_this_month", &r.usage.tokens_this_month},
        {"window_reset_ms", &r.usage.window_reset_ms}};
    for (const auto& [name, out] : fields) {
      const std::optional<int64_t> n = u.member(name).int64();
      if (!n) return false;
      *out = *n;
    }
    return true;
  };
  switch (kind) {
    case StoreOpKind::kAdmit: {
      const std::optional<bool> admitted = v.member("admitted").boolean();
      if (!admitted || !usage()) return bad("malformed admit reply");
      Admission& a = r.admission;
      if (!*admitted) {
        const std::optional<size_t> l = find_name(kLimitNames, v.member("refused").string());
        if (!l || *l == 0) return bad("malformed admit reply");
        a.refused = static_cast<Limit>(*l);
        a.retry_after_ms = v.member("retry_after_ms").int64().value_or(1000);
      }
      a.rpm_remaining = v.member("rpm_remaining").int64().value_or(-1);
      a.rpm_reset_ms = v.member("rpm_reset_ms").int64().value_or(0);
      break;
    }
    case StoreOpKind::kRenew: {
      const std::optional<bool> live = v.member("live").boolean();
      if (!live) return bad("malformed renew reply");
      r.live = *live;
      break;
    }
    case StoreOpKind::kSettle:
    case StoreOpKind::kUsage:
      if (!usage()) return bad("malformed usage reply");
      break;
    case StoreOpKind::kMark: break;
    case StoreOpKind::kClear: r.cleared = v.member("cleared").boolean().value_or(false); break;
    case StoreOpKind::kHealth:
      for (const JsonValue e : v.member("health").elements()) {
        const std::optional<size_t> mark = find_name(kMarkNames, e.element(1).string());
        const std::optional<int64_t> remaining = e.element(2).int64();
        if (!e.element(0).is_string() || !mark || !remaining) return bad("malformed health");
        r.health.push_back(
            {std::string(e.element(0).string()), static_cast<CredMark>(*mark), *remaining});
      }
      break;
  }
  return r;
}

std::string apply_store_json(MemoryStore& store, std::string_view op_json, int64_t now_ms) {
  int64_t at = now_ms;
  Result<StoreOp> op = parse_store_op(op_json, &at);
  if (!op.ok()) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("error");
    w.String(op.error().message);
    w.EndObject();
    return buf.take();
  }
  return store_reply_json(*op, store.apply(*op, at));
}

std::string store_object_name(const StoreOp& op) {
  return uses_key(op.kind) ? "key:" + op.key : "pool";
}

}  // namespace zproxy
