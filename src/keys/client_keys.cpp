#include "keys/client_keys.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/civil_time.h"
#include "core/sha256.h"
#include "json/json.h"

namespace zproxy {
namespace {

constexpr int64_t kDayMs = 86400000;
constexpr int64_t kWindowMs = 60000;

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && only_alnum_or(name, "._-");
}

std::optional<std::array<uint8_t, 32>> hex_digest(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  std::array<uint8_t, 32> out{};
  for (size_t i = 0; i < 64; ++i) {
    const char c = hex[i];
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) return std::nullopt;
    out[i / 2] = static_cast<uint8_t>(out[i / 2] | (i % 2 == 0 ? v << 4 : v));
  }
  return out;
}

int64_t month_of(int64_t now_ms) {
  const CivilDate d = civil_from_days(floor_div(now_ms, kDayMs));
  return d.year * 12 + d.month - 1;
}

}  // namespace

bool ClientKey::allows(std::string_view model) const {
  if (models.empty()) return true;
  for (const std::string& m : models) {
    if (!m.empty() && m.back() == '*') {
      if (model.starts_with(std::string_view(m).substr(0, m.size() - 1))) return true;
    } else if (m == model) {
      return true;
    }
  }
  return false;
}

std::optional<int64_t> parse_utc_timestamp(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') ||
      t[13] != ':' || t[16] != ':' || (t.back() != 'Z' && t.back() != 'z')) {
    return std::nullopt;
  }
  auto num = [&](size_t at, size_t n) -> int64_t {
    int64_t v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  const int64_t y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
                s = num(17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
      mi < 0 || mi > 59 || s < 0 || s > 60) {
    return std::nullopt;
  }
  if (t.size() > 20 && t[19] != '.') return std::nullopt;
  for (size_t i = 20; i + 1 < t.size(); ++i) {
    if (t[i] < '0' || t[i] > '9') return std::nullopt;
  }
  return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + s * 1000;
}

Result<std::vector<ClientKey>> parse_client_keys(std::string_view json,
                                                 std::vector<std::string>& warnings) {
  auto fail = [](std::string why) {
    return make_error(Errc::kInvalidConfig, "CLIENT_KEYS: " + std::move(why));
  };
  Result<JsonDocument> doc = parse_json(json);
  if (!doc.ok() || !doc->is_array()) return fail("must be a JSON array of key objects");
  std::vector<ClientKey> keys;
  for (size_t i = 0; i < doc->size(); ++i) {
    const JsonValue k = doc->element(i);
    const std::string at = "entry " + std::to_string(i);
    if (!k.is_object()) return fail(at + " is not an object");
    ClientKey key;
    key.name = std::string(k.member("name").string());
    if (!valid_name(key.name)) return fail(at + ": name must match [A-Za-z0-9._-]{1,64}");
    for (const ClientKey& other : keys) {
      if (other.name == key.name) return fail("the name '" + key.name + "' is used twice");
    }
    const std::string who = "key '" + key.name + "'";
    const JsonValue hashed = k.member("key_sha256");
    const JsonValue plain = k.member("key");
    if (static_cast<bool>(hashed) == static_cast<bool>(plain)) {
      return fail(who + ": give exactly one of key_sha256 and key");
    }
    if (hashed) {
      const auto d = hex_digest(hashed.string());
      if (!d) return fail(who + ": key_sha256 must be 64 hex digits");
      key.digest = *d;
    } else {
      if (!plain.is_string() || plain.string().empty()) return fail(who + ": key must be a string");
      key.digest = sha256(plain.string());
      warnings.push_back("CLIENT_KEYS: " + who +
                         " is given in plaintext; prefer key_sha256 (z-ai-proxy --hash-key)");
    }
    if (const JsonValue models = k.member("models"); models && !models.is_null()) {
      if (!models.is_array()) return fail(who + ": models must be a list of model names");
      for (const JsonValue m : models.elements()) {
        const std::string_view name = m.string();
        const size_t star = name.find('*');
        if (name.empty() || (star != std::string_view::npos && star + 1 != name.size())) {
          return fail(who + ": models entries are names, '*' only at the end");
        }
        key.models.emplace_back(name);
      }
    }
    for (const auto& [field, slot] : {std::pair{"rpm", &key.rpm},
                                      {"max_concurrent", &key.max_concurrent},
                                      {"tokens_per_day", &key.tokens_per_day},
                                      {"tokens_per_month", &key.tokens_per_month}}) {
      const JsonValue v = k.member(field);
      if (!v || v.is_null()) continue;
      const auto n = v.int64();
      if (!n || *n < 1) return fail(who + ": " + field + " must be an integer >= 1");
      *slot = *n;
    }
    if (const JsonValue e = k.member("expires_at"); e && !e.is_null()) {
      key.expires_at_ms = parse_utc_timestamp(e.string());
      if (!key.expires_at_ms) return fail(who + ": expires_at must be like 2027-01-01T00:00:00Z");
    }
    if (const JsonValue d = k.member("disabled"); d && !d.is_null()) {
      if (!d.is_bool()) return fail(who + ": disabled must be true or false");
      key.disabled = *d.boolean();
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

const ClientKey* identify_client_key(const std::vector<ClientKey>& keys,
                                     std::string_view presented) {
  if (presented.empty()) return nullptr;
  const std::array<uint8_t, 32> d = sha256(presented);
  const ClientKey* found = nullptr;
  for (const ClientKey& k : keys) {
    uint8_t diff = 0;
    for (size_t i = 0; i < d.size(); ++i) diff |= static_cast<uint8_t>(d[i] ^ k.digest[i]);
    if (diff == 0 && found == nullptr) found = &k;
  }
  return found;
}

int64_t next_utc_day_ms(int64_t now_ms) {
  return (floor_div(now_ms, kDayMs) + 1) * kDayMs;
}

int64_t next_utc_month_ms(int64_t now_ms) {
  const CivilDate d = civil_from_days(floor_div(now_ms, kDayMs));
  const int64_t y = d.month == 12 ? d.year + 1 : d.year;
  const int64_t m = d.month == 12 ? 1 : d.month + 1;
  return days_from_civil(y, m, 1) * kDayMs;
}

void KeyLimits::roll(Tally& c, int64_t now_ms) {
  if (c.window_start >= 0 && now_ms >= c.window_start + kWindowMs) {
    c.window_start = -1;
    c.window_count = 0;
  }
  const int64_t day = floor_div(now_ms, kDayMs);
  if (c.day != day) {
    c.day = day;
    c.tokens_day = 0;
  }
  const int64_t month = month_of(now_ms);
  if (c.month != month) {
    c.month = month;
    c.tokens_month = 0;
  }
}

void KeyLimits::drop_lapsed(Counters& c, int64_t now_ms) {
  if (c.earliest_expiry > now_ms) return;
  int64_t earliest = kNoExpiry;
  std::erase_if(c.leases, [&](const auto& l) {
    if (l.second <= now_ms) return true;
    earliest = std::min(earliest, l.second);
    return false;
  });
  c.earliest_expiry = earliest;
}

int64_t KeyLimits::live_leases(const Counters& c, int64_t now_ms) {
  if (c.earliest_expiry > now_ms) return static_cast<int64_t>(c.leases.size());
  int64_t n = 0;
  for (const auto& [id, expires] : c.leases) n += expires > now_ms;
  return n;
}

Admission KeyLimits::admit(const std::string& name, const KeyQuota& quota, const std::string& lease,
                           int64_t now_ms, int64_t lease_ttl_ms) {
  Admission a;
  Counters& c = counters_[name];
  roll(c, now_ms);
  drop_lapsed(c, now_ms);
  const int64_t concurrent = static_cast<int64_t>(c.leases.size());
  const int64_t reset = c.window_start >= 0 ? c.window_start + kWindowMs - now_ms : kWindowMs;
  if (quota.tokens_per_day && c.tokens_day >= *quota.tokens_per_day) {
    a.refused = Limit::kTokensPerDay;
    a.retry_after_ms = next_utc_day_ms(now_ms) - now_ms;
  } else if (quota.tokens_per_month && c.tokens_month >= *quota.tokens_per_month) {
    a.refused = Limit::kTokensPerMonth;
    a.retry_after_ms = next_utc_month_ms(now_ms) - now_ms;
  } else if (quota.rpm && c.window_count >= *quota.rpm) {
    a.refused = Limit::kRpm;
    a.retry_after_ms = reset;
  } else if (quota.max_concurrent && concurrent >= *quota.max_concurrent) {
    a.refused = Limit::kConcurrency;
    a.retry_after_ms = 1000;
  }
  if (a.refused == Limit::kNone) {
    if (c.window_start < 0) c.window_start = now_ms;
    ++c.window_count;
    const int64_t expires = lease_ttl_ms >= kNoExpiry - now_ms ? kNoExpiry : now_ms + lease_ttl_ms;
    c.leases[lease] = expires;
    c.earliest_expiry = std::min(c.earliest_expiry, expires);
  }
  if (quota.rpm) {
    a.rpm_remaining = std::max<int64_t>(0, *quota.rpm - c.window_count);
    a.rpm_reset_ms = c.window_start >= 0 ? c.window_start + kWindowMs - now_ms : kWindowMs;
  }
  return a;
}

bool KeyLimits::renew(const std::string& name, const std::string& lease, int64_t now_ms,
                      int64_t lease_ttl_ms) {
  auto c = counters_.find(name);
  if (c == counters_.end()) return false;
  auto it = c->second.leases.find(lease);
  if (it == c->second.leases.end() || it->second <= now_ms) return false;
  it->second = lease_ttl_ms >= kNoExpiry - now_ms ? kNoExpiry : now_ms + lease_ttl_ms;
  return true;
}

void KeyLimits::settle(const std::string& lease, const std::string& name, int64_t tokens,
                       int64_t now_ms) {
  auto known = counters_.find(name);
  if (known != counters_.end()) known->second.leases.erase(lease);
  if (tokens <= 0) return;
  Counters& c = counters_[name];
  roll(c, now_ms);
  c.tokens_day += tokens;
  c.tokens_month += tokens;
}

KeyUsage KeyLimits::usage(const std::string& name, int64_t now_ms) const {
  KeyUsage u;
  auto it = counters_.find(name);
  if (it == counters_.end()) return u;
  Tally c = it->second;  // the counts only: the leases are counted where they are
  roll(c, now_ms);
  u.requests_this_window = c.window_count;
  u.concurrent = live_leases(it->second, now_ms);
  u.tokens_today = c.tokens_day;
  u.tokens_this_month = c.tokens_month;
  u.window_reset_ms = c.window_start >= 0 ? c.window_start + kWindowMs - now_ms : 0;
  return u;
}

void KeyLimits::seed(const std::string& name, const KeyUsage& usage, int64_t now_ms) {
  Counters& c = counters_[name];
  roll(c, now_ms);
  if (usage.requests_this_window > 0 && usage.window_reset_ms > 0) {
    c.window_start = now_ms + std::min(usage.window_reset_ms, kWindowMs) - kWindowMs;
    c.window_count = usage.requests_this_window;
  }
  c.tokens_day = std::max(c.tokens_day, usage.tokens_today);
  c.tokens_month = std::max(c.tokens_month, usage.tokens_this_month);
}

void KeyLimits::dump(JsonWriter& w) const {
  w.Key("keys");
  w.StartObject();
  for (const auto& [name, c] : counters_) {
    w.Key(name);
    w.StartArray();
    for (const int64_t v :
         {c.window_start, c.window_count, c.day, c.tokens_day, c.month, c.tokens_month}) {
      w.Int64(v);
    }
    w.EndArray();
  }
  w.EndObject();
  w.Key("leases");
  w.StartObject();
  for (const auto& [name, c] : counters_) {
    if (c.leases.empty()) continue;
    w.Key(name);
    w.StartObject();
    for (const auto& [id, expires] : c.leases) {
      w.Key(id);
      w.Int64(expires);
    }
    w.EndObject();
  }
  w.EndObject();
}

bool KeyLimits::load(const JsonValue& v) {
  counters_.clear();
  for (const auto& [name, a] : v.member("keys").members()) {
    if (a.size() != 6) return false;
    int64_t f[6];
    for (size_t i = 0; i < 6; ++i) {
      const std::optional<int64_t> n = a.element(i).int64();
      if (!n) return false;
      f[i] = *n;
    }
    counters_[std::string(name)] = Counters{{f[0], f[1], f[2], f[3], f[4], f[5]}, kNoExpiry, {}};
  }
  for (const auto& [name, held] : v.member("leases").members()) {
    auto c = counters_.find(name);
    if (c == counters_.end() || !held.is_object()) return false;
    for (const auto& [id, expires] : held.members()) {
      const std::optional<int64_t> at = expires.int64();
      if (!at) return false;
      c->second.leases[std::string(id)] = *at;
      c->second.earliest_expiry = std::min(c->second.earliest_expiry, *at);
    }
  }
  return true;
}

}  // namespace zproxy
