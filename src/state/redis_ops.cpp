#include "state/redis_ops.h"

#include <algorithm>
#include <array>

namespace zproxy {
namespace {

// The start of every script. Lua numbers are doubles: exact for Unix ms and token counts below
// 2^53. Numbers go to redis.call() through int(), never Lua's own %.14g formatting.
// ARGV[1] is `at` or "" (the store's clock). Dates are UTC: days_from_civil and
// civil_from_days are H. Hinnant's algorithms, the core's own civil time.
constexpr std::string_view kPrelude = R"lua(
local DAY = 86400000
local WINDOW = 60000
local FAR = 8000000000000000
local function int(x) return string.format('%d', x) end
local function clock()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m + 9
  if m > 2 then mp = m - 3 end
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end
local function civil_month(days)
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp - 9
  if mp < 10 then m = mp + 3 end
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m
end
local function month_index(now)
  local y, m = civil_month(math.floor(now / DAY))
  return y * 12 + m - 1
end
local function next_month_ms(now)
  local y, m = civil_month(math.floor(now / DAY))
  if m == 12 then y = y + 1; m = 1 else m = m + 1 end
  return days_from_civil(y, m, 1) * DAY
end
local function expiry(now, ttl)
  if ttl == nil or ttl <= 0 or now + ttl >= FAR then return FAR end
  return now + ttl
end
local function counters(key, now)
  local v = redis.call('HMGET', key, 'ws', 'wc', 'day', 'td', 'mon', 'tm')
  local c = {ws = tonumber(v[1]) or -1, wc = tonumber(v[2]) or 0, day = tonumber(v[3]) or -1,
    td = tonumber(v[4]) or 0, mon = tonumber(v[5]) or -1, tm = tonumber(v[6]) or 0}
  if c.ws >= 0 and now >= c.ws + WINDOW then c.ws = -1; c.wc = 0 end
  local day = math.floor(now / DAY)
  if c.day ~= day then c.day = day; c.td = 0 end
  local mon = month_index(now)
  if c.mon ~= mon then c.mon = mon; c.tm = 0 end
  return c
end
local function save(key, c, now)
  redis.call('HSET', key, 'ws', int(c.ws), 'wc', int(c.wc), 'day', int(c.day), 'td', int(c.td),
    'mon', int(c.mon), 'tm', int(c.tm))
  local keep = next_month_ms(now)
  if c.ws >= 0 and c.ws + WINDOW > keep then keep = c.ws + WINDOW end
  redis.call('PEXPIRE', key, int(keep - now))
end
local function live_leases(key, now)
  return redis.call('ZCOUNT', key, '(' .. int(now), '+inf')
end
local function usage(c, conc, now)
  local reset = 0
  if c.ws >= 0 then reset = c.ws + WINDOW - now end
  return {c.wc, conc, c.td, c.tm, reset}
end
local function keep_until(key, until_ms, now)
  if until_ms >= FAR then redis.call('PERSIST', key)
  else redis.call('PEXPIRE', key, int(until_ms - now)) end
end
local function keep_leases(key, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', int(now))
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] == nil then return end
  keep_until(key, tonumber(last[2]), now)
end
local function live_marks(key, now)
  local all = redis.call('HGETALL', key)
  local live, last = {}, nil
  for i = 1, #all, 2 do
    local kind, until_ms = string.match(all[i + 1], '^(%d+):(-?%d+)$')
    kind = tonumber(kind); until_ms = tonumber(until_ms)
    if kind == nil or until_ms == nil or until_ms <= now then
      redis.call('HDEL', key, all[i])
    else
      live[#live + 1] = {all[i], kind, until_ms}
      if last == nil or until_ms > last then last = until_ms end
    end
  end
  if last ~= nil then keep_until(key, last, now) end
  return live
end
)lua";

// admit. KEYS: counters, leases. ARGV: at, lease, ttl_ms, rpm, max_concurrent, tokens_per_day,
// tokens_per_month ("" when unlimited). Refusal order, as in the memory backend: tokens/day,
// tokens/month, rpm, concurrency. Reply: {refused (Limit), retry_after_ms, rpm_remaining,
// rpm_reset_ms, then the usage: requests_this_window, concurrent, tokens_today,
// tokens_this_month, window_reset_ms}.
constexpr std::string_view kAdmitBody = R"lua(
local now = clock()
local c = counters(KEYS[1], now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', int(now))
local conc = redis.call('ZCARD', KEYS[2])
local rpm, maxc = tonumber(ARGV[4]), tonumber(ARGV[5])
local tpd, tpm = tonumber(ARGV[6]), tonumber(ARGV[7])
local reset = WINDOW
if c.ws >= 0 then reset = c.ws + WINDOW - now end
local refused, retry = 0, 0
if tpd and c.td >= tpd then refused = 3; retry = (c.day + 1) * DAY - now
elseif tpm and c.tm >= tpm then refused = 4; retry = next_month_ms(now) - now
elseif rpm and c.wc >= rpm then refused = 1; retry = reset
elseif maxc and conc >= maxc then refused = 2; retry = 1000 end
if refused == 0 then
  if c.ws < 0 then c.ws = now end
  c.wc = c.wc + 1
  redis.call('ZADD', KEYS[2], int(expiry(now, tonumber(ARGV[3]))), ARGV[2])
  conc = redis.call('ZCARD', KEYS[2])
  keep_leases(KEYS[2], now)
end
save(KEYS[1], c, now)
local remaining, rpm_reset = -1, 0
if rpm then
  remaining = math.max(0, rpm - c.wc)
  rpm_reset = WINDOW
  if c.ws >= 0 then rpm_reset = c.ws + WINDOW - now end
end
local u = usage(c, conc, now)
return {refused, retry, remaining, rpm_reset, u[1], u[2], u[3], u[4], u[5]}
)lua";

// renew. KEYS: leases. ARGV: at, lease, ttl_ms. Reply: 1 when the lease was live (and now
// runs ttl_ms from now), 0 when it had lapsed or is unknown.
constexpr std::string_view kRenewBody = R"lua(
local now = clock()
local s = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[2]))
if s == nil or s <= now then
  keep_leases(KEYS[1], now)
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', int(expiry(now, tonumber(ARGV[3]))), ARGV[2])
keep_leases(KEYS[1], now)
return 1
)lua";

// settle. KEYS: counters, leases. ARGV: at, lease, tokens. Ends the lease, charges the tokens
// to the UTC day and month. Reply: {requests_this_window, concurrent, tokens_today,
// tokens_this_month, window_reset_ms (0: no window open)}.
constexpr std::string_view kSettleBody = R"lua(
local now = clock()
redis.call('ZREM', KEYS[2], ARGV[2])
local tokens = tonumber(ARGV[3]) or 0
local c = counters(KEYS[1], now)
if tokens > 0 then
  c.td = c.td + tokens
  c.tm = c.tm + tokens
  save(KEYS[1], c, now)
end
return usage(c, live_leases(KEYS[2], now), now)
)lua";

// usage. KEYS: counters, leases. ARGV: at. Read-only. Reply: as settle's.
constexpr std::string_view kUsageBody = R"lua(
local now = clock()
local c = counters(KEYS[1], now)
return usage(c, live_leases(KEYS[2], now), now)
)lua";

// mark. KEYS: marks. ARGV: at, cid, mark (CredMark: 1 cool, 2 dead), ttl_ms. A live dead mark
// beats a cool one; of one kind the later end wins. Reply: 1 when stored, 0 when kept.
constexpr std::string_view kMarkBody = R"lua(
local now = clock()
local kind, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
if kind == nil or kind < 1 or kind > 2 or ttl == nil or ttl <= 0 then return 0 end
local until_ms = expiry(now, ttl)
for _, m in ipairs(live_marks(KEYS[1], now)) do
  if m[1] == ARGV[2] and (m[2] > kind or (m[2] == kind and m[3] >= until_ms)) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[2], int(kind) .. ':' .. int(until_ms))
live_marks(KEYS[1], now)
return 1
)lua";

// clear. KEYS: marks. ARGV: at, cid. Reply: 1 when a live mark was removed.
constexpr std::string_view kClearBody = R"lua(
local now = clock()
live_marks(KEYS[1], now)
return redis.call('HDEL', KEYS[1], ARGV[2])
)lua";

// health. KEYS: marks. ARGV: at. Reply: {{cid, mark, remaining_ms}, …} sorted by cid.
constexpr std::string_view kHealthBody = R"lua(
local now = clock()
local out = {}
for _, m in ipairs(live_marks(KEYS[1], now)) do out[#out + 1] = {m[1], m[2], m[3] - now} end
table.sort(out, function(a, b) return a[1] < b[1] end)
return out
)lua";

// A script: the prelude, then its body, joined at compile time.
template <const std::string_view& Body>
struct Script {
  static constexpr std::array<char, kPrelude.size() + Body.size()> kText = [] {
    std::array<char, kPrelude.size() + Body.size()> out{};
    std::copy(kPrelude.begin(), kPrelude.end(), out.begin());
    std::copy(Body.begin(), Body.end(), out.begin() + kPrelude.size());
    return out;
  }();
  static constexpr std::string_view kView{kText.data(), kText.size()};
};

constexpr std::array<std::string_view, 7> kScripts = {
    Script<kAdmitBody>::kView, Script<kRenewBody>::kView, Script<kSettleBody>::kView,
    Script<kUsageBody>::kView, Script<kMarkBody>::kView,  Script<kClearBody>::kView,
    Script<kHealthBody>::kView};
static_assert(kScripts.size() == static_cast<size_t>(StoreOpKind::kHealth) + 1);

std::string limit_arg(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : std::string();
}

Error bad_reply(std::string_view what) {
  return make_error(Errc::kUpstreamBadResponse, "state store reply: " + std::string(what));
}

// An array of `n` integers, or nullptr.
const std::vector<RespValue>* integers(const RespValue& v, size_t n) {
  if (v.type != RespValue::Type::kArray || v.elements.size() != n) return nullptr;
  for (const RespValue& e : v.elements) {
    if (e.type != RespValue::Type::kInteger) return nullptr;
  }
  return &v.elements;
}

bool read_usage(const std::vector<RespValue>& e, size_t at, KeyUsage& u) {
  u.requests_this_window = e[at].integer;
  u.concurrent = e[at + 1].integer;
  u.tokens_today = e[at + 2].integer;
  u.tokens_this_month = e[at + 3].integer;
  u.window_reset_ms = e[at + 4].integer;
  return u.requests_this_window >= 0 && u.concurrent >= 0 && u.tokens_today >= 0 &&
         u.tokens_this_month >= 0 && u.window_reset_ms >= 0;
}

Result<StoreReply> parse_admit(const RespValue& v) {
  const std::vector<RespValue>* e = integers(v, 9);
  if (e == nullptr) return bad_reply("admit: not 9 integers");
  StoreReply r;
  const int64_t refused = (*e)[0].integer;
  if (refused < 0 || refused > static_cast<int64_t>(Limit::kTokensPerMonth)) {
    return bad_reply("admit: unknown limit");
  }
  r.admission.refused = static_cast<Limit>(refused);
  r.admission.retry_after_ms = (*e)[1].integer;
  r.admission.rpm_remaining = (*e)[2].integer;
  r.admission.rpm_reset_ms = (*e)[3].integer;
  if (r.admission.retry_after_ms < 0 || r.admission.rpm_remaining < -1 ||
      r.admission.rpm_reset_ms < 0 || !read_usage(*e, 4, r.usage)) {
    return bad_reply("admit: value out of range");
  }
  return r;
}

Result<StoreReply> parse_health(const RespValue& v) {
  if (v.type != RespValue::Type::kArray) return bad_reply("health: not an array");
  StoreReply r;
  for (const RespValue& m : v.elements) {
    if (m.type != RespValue::Type::kArray || m.elements.size() != 3 ||
        m.elements[0].type != RespValue::Type::kString ||
        m.elements[1].type != RespValue::Type::kInteger ||
        m.elements[2].type != RespValue::Type::kInteger) {
      return bad_reply("health: entry not {cid, mark, remaining_ms}");
    }
    const int64_t mark = m.elements[1].integer;
    if (mark != static_cast<int64_t>(CredMark::kCool) &&
        mark != static_cast<int64_t>(CredMark::kDead)) {
      return bad_reply("health: unknown mark");
    }
    if (m.elements[2].integer <= 0) return bad_reply("health: mark not live");
    r.health.push_back(
        HealthEntry{m.elements[0].text, static_cast<CredMark>(mark), m.elements[2].integer});
  }
  for (size_t i = 1; i < r.health.size(); ++i) {
    if (!(r.health[i - 1].cid < r.health[i].cid)) return bad_reply("health: not sorted by cid");
  }
  return r;
}

// A 0/1 integer reply.
std::optional<bool> flag(const RespValue& v) {
  if (v.type != RespValue::Type::kInteger || (v.integer != 0 && v.integer != 1)) {
    return std::nullopt;
  }
  return v.integer == 1;
}

}  // namespace

size_t redis_script_count() {
  return kScripts.size();
}

std::string_view redis_script(size_t index) {
  return index < kScripts.size() ? kScripts[index] : std::string_view();
}

RedisCall redis_call(const StoreOp& op, std::string_view prefix, std::optional<int64_t> at) {
  RedisCall c;
  c.script = static_cast<size_t>(op.kind);
  const std::string key = std::string(prefix) + "{k:" + op.key + "}:";
  const std::string marks = std::string(prefix) + "{pool}:m";
  c.args.push_back(at ? std::to_string(*at) : std::string());
  switch (op.kind) {
    case StoreOpKind::kAdmit:
      c.keys = {key + "c", key + "l"};
      c.args.insert(c.args.end(),
                    {op.lease, std::to_string(op.ttl_ms), limit_arg(op.limits.rpm),
                     limit_arg(op.limits.max_concurrent), limit_arg(op.limits.tokens_per_day),
                     limit_arg(op.limits.tokens_per_month)});
      break;
    case StoreOpKind::kRenew:
      c.keys = {key + "l"};
      c.args.insert(c.args.end(), {op.lease, std::to_string(op.ttl_ms)});
      break;
    case StoreOpKind::kSettle:
      c.keys = {key + "c", key + "l"};
      c.args.insert(c.args.end(), {op.lease, std::to_string(op.tokens)});
      break;
    case StoreOpKind::kUsage: c.keys = {key + "c", key + "l"}; break;
    case StoreOpKind::kMark:
      c.keys = {marks};
      c.args.insert(c.args.end(),
                    {op.cid, std::to_string(static_cast<int>(op.mark)), std::to_string(op.ttl_ms)});
      break;
    case StoreOpKind::kClear:
      c.keys = {marks};
      c.args.push_back(op.cid);
      break;
    case StoreOpKind::kHealth: c.keys = {marks}; break;
  }
  return c;
}

Result<StoreReply> parse_redis_reply(StoreOpKind kind, const RespValue& reply) {
  if (reply.type == RespValue::Type::kError) return bad_reply("error reply");
  switch (kind) {
    case StoreOpKind::kAdmit: return parse_admit(reply);
    case StoreOpKind::kRenew:
    case StoreOpKind::kClear: {
      const std::optional<bool> f = flag(reply);
      if (!f) return bad_reply("not 0 or 1");
      StoreReply r;
      (kind == StoreOpKind::kRenew ? r.live : r.cleared) = *f;
      return r;
    }
    case StoreOpKind::kSettle:
    case StoreOpKind::kUsage: {
      const std::vector<RespValue>* e = integers(reply, 5);
      StoreReply r;
      if (e == nullptr || !read_usage(*e, 0, r.usage)) return bad_reply("usage: not 5 counts");
      return r;
    }
    case StoreOpKind::kMark:
      if (!flag(reply)) return bad_reply("mark: not 0 or 1");
      return StoreReply{};
    case StoreOpKind::kHealth: return parse_health(reply);
  }
  return bad_reply("unknown operation");
}

}  // namespace zproxy
