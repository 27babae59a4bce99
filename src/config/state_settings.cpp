// STATE_STORE and its settings (docs/contract.md §14): the backend, REDIS_URL taken apart
// (its password never echoed), the key prefix, timeouts and TTLs.

#include <charconv>

#include "config/reader.h"
#include "core/ascii.h"

namespace zproxy {
namespace config_detail {

namespace {

// redis[s]://[user:pass@]host[:port][/db]; never echoes the value (it may hold a password).
void load_redis_url(Reader& r, RedisTarget& t) {
  const std::optional<std::string_view> given = r.given("REDIS_URL");
  if (!given) {
    r.fail("REDIS_URL must be set when STATE_STORE=redis");
    return;
  }
  std::string_view v = *given;
  const auto bad = [&](std::string_view why) {
    r.fail("REDIS_URL must look like redis[s]://[user:password@]host[:port][/db]: " +
           std::string(why));
  };
  if (v.starts_with("rediss://")) {
    t.tls = true;
    v.remove_prefix(9);
  } else if (v.starts_with("redis://")) {
    v.remove_prefix(8);
  } else {
    return bad("the scheme is not redis:// or rediss://");
  }
  if (has_space_or_ctl(v)) return bad("it holds spaces or control characters");
  std::string_view path;
  if (const size_t slash = v.find('/'); slash != std::string_view::npos) {
    path = v.substr(slash + 1);
    v = v.substr(0, slash);
  }
  if (const size_t at = v.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = v.substr(0, at);
    v = v.substr(at + 1);
    const size_t colon = cred.find(':');
    if (colon == std::string_view::npos) {
      t.password = std::string(cred);
    } else {
      t.user = std::string(cred.substr(0, colon));
      t.password = std::string(cred.substr(colon + 1));
    }
  }
  std::string_view port;
  if (v.starts_with('[')) {  // [IPv6]
    const size_t close = v.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address lacks its ']'");
    t.host = std::string(v.substr(1, close - 1));
    v.remove_prefix(close + 1);
    if (v.starts_with(':'))
      port = v.substr(1);
    else if (!v.empty())
      return bad("text follows the IPv6 address");
  } else {
    const size_t colon = v.rfind(':');
    t.host = std::string(v.substr(0, colon));
    if (colon != std::string_view::npos) port = v.substr(colon + 1);
  }
  if (t.host.empty()) return bad("the host is missing");
  const auto number = [](std::string_view text, int lo, int hi, int& out) {
    int n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < lo || n > hi) return false;
    out = n;
    return true;
  };
  if (!port.empty() && !number(port, 1, 65535, t.port)) return bad("the port is not 1..65535");
  if (!path.empty() && !number(path, 0, 1000000, t.db)) return bad("the database is not a number");
}

}  // namespace

void load_state(Reader& r, Config& c) {
  StateSettings& st = c.state;
  constexpr StateBackend kBackends[] = {StateBackend::kMemory, StateBackend::kRedis,
                                        StateBackend::kDurableObject};
  st.backend = kBackends[r.choice("STATE_STORE", {"memory", "redis", "durable_object"})];
  if (st.backend == StateBackend::kRedis) load_redis_url(r, st.redis);
  st.redis_ca_file = std::string(r.text("REDIS_CA_FILE"));
  st.key_prefix = std::string(r.text("STATE_KEY_PREFIX"));
  const bool prefix_ok =
      !st.key_prefix.empty() && st.key_prefix.size() <= 32 && only_alnum_or(st.key_prefix, ":_-");
  if (!prefix_ok) r.fail_value("STATE_KEY_PREFIX", "must be 1 to 32 of [A-Za-z0-9:_-]");
  if (r.given("STATE_STORE_TIMEOUT_MS"))
    st.timeout_ms = r.integer("STATE_STORE_TIMEOUT_MS", 1, 60000);
  st.backoff_max_ms = r.integer("STATE_BACKOFF_MAX_MS", 100, 600000);
  if (r.given("STATE_SYNC_MS")) st.sync_ms = r.integer("STATE_SYNC_MS", 10, 3600000);
  if (r.given("STATE_LEASE_TTL_MS"))
    st.lease_ttl_ms = r.integer("STATE_LEASE_TTL_MS", 1000, kMaxTimeoutMs);
  st.dead_ttl_s = r.integer("STATE_DEAD_TTL_S", 1, 365LL * 86400);
}

}  // namespace config_detail

std::string RedisTarget::endpoint() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace zproxy
