#pragma once
// Client keys with their own limits (CLIENT_KEYS, docs/contract.md §3.6): who a
// request is, which models it may use, and the memory backend of its limits (requests per
// minute, concurrent requests, tokens per UTC day and month). Sans-I/O: times come in as Unix
// milliseconds; the store holds no secret, only each key's configured name.

#include <array>
#include <climits>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace zproxy {

class JsonValue;
class JsonWriter;

// A key's limits (an omitted one is unlimited).
struct KeyQuota {
  std::optional<int64_t> rpm;
  std::optional<int64_t> max_concurrent;
  std::optional<int64_t> tokens_per_day;
  std::optional<int64_t> tokens_per_month;
};

struct ClientKey {
  std::string name;                  // [A-Za-z0-9._-]{1,64}, unique
  std::array<uint8_t, 32> digest{};  // SHA-256 of the key
  std::vector<std::string> models;   // empty: every model; a trailing '*' matches a prefix
  std::optional<int64_t> rpm;
  std::optional<int64_t> max_concurrent;
  std::optional<int64_t> tokens_per_day;
  std::optional<int64_t> tokens_per_month;
  std::optional<int64_t> expires_at_ms;  // Unix ms
  bool disabled = false;

  bool limited() const { return rpm || max_concurrent || tokens_per_day || tokens_per_month; }
  KeyQuota quota() const { return {rpm, max_concurrent, tokens_per_day, tokens_per_month}; }
  // Whether `model` (the name after model-name resolution) is on the key's list.
  bool allows(std::string_view model) const;
};

// CLIENT_KEYS' JSON array. `warnings` gets one line per key given in plaintext ("key").
Result<std::vector<ClientKey>> parse_client_keys(std::string_view json,
                                                 std::vector<std::string>& warnings);

// The key `presented` is, by its SHA-256 (compared in constant time with every key), or nullptr.
const ClientKey* identify_client_key(const std::vector<ClientKey>& keys,
                                     std::string_view presented);

// "YYYY-MM-DDTHH:MM:SSZ" (fractional seconds allowed) as Unix ms, or nullopt.
std::optional<int64_t> parse_utc_timestamp(std::string_view text);

enum class Limit : uint8_t { kNone, kRpm, kConcurrency, kTokensPerDay, kTokensPerMonth };

struct Admission {
  Limit refused = Limit::kNone;  // kNone: admitted (the caller's lease is now held)
  int64_t retry_after_ms = 0;    // refused: when trying again can help
  // For keys with an rpm limit: x-ratelimit-* values after this request.
  int64_t rpm_remaining = -1;
  int64_t rpm_reset_ms = 0;
};

struct KeyUsage {
  int64_t requests_this_window = 0;
  int64_t concurrent = 0;
  int64_t tokens_today = 0;
  int64_t tokens_this_month = 0;
  int64_t window_reset_ms = 0;  // until the rpm window ends (0: no window open)
};

// The state-store operations on a client key's counters, and their memory backend (the one
// the core runs; a shared store must give the same answers: tests/fixtures/state/vectors.json
// pins them). One counter set per key name; no secret is kept. Leases are named by the
// caller (unique across replicas).
//   admit: refused by the first limit reached (tokens per day, per month, rpm, concurrency),
//     counting nothing; else counted in the rpm window (60 s from its first admitted request)
//     and holding the lease, which lapses after lease_ttl_ms unless renewed.
//   renew: extends a live lease (false when it has lapsed or is unknown).
//   settle: ends the lease and charges the tokens to the UTC day and month.
class KeyLimits {
 public:
  static constexpr int64_t kNoExpiry = INT64_MAX;
  Admission admit(const std::string& name, const KeyQuota& quota, const std::string& lease,
                  int64_t now_ms, int64_t lease_ttl_ms = kNoExpiry);
  bool renew(const std::string& name, const std::string& lease, int64_t now_ms,
             int64_t lease_ttl_ms);
  void settle(const std::string& lease, const std::string& name, int64_t tokens, int64_t now_ms);
  KeyUsage usage(const std::string& name, int64_t now_ms) const;
  // Local decisions after a shared store's answer start from its counts.
  void seed(const std::string& name, const KeyUsage& usage, int64_t now_ms);
  // Every key's counters and live leases as JSON fields, and back (Durable Object storage).
  void dump(JsonWriter& w) const;
  bool load(const JsonValue& v);

 private:
  // A key's counts, rolled to `now` before use (a window, day or month past is zero).
  struct Tally {
    int64_t window_start = -1;
    int64_t window_count = 0;
    int64_t day = -1;  // UTC day number of tokens_day
    int64_t tokens_day = 0;
    int64_t month = -1;  // year * 12 + month - 1 of tokens_month
    int64_t tokens_month = 0;
  };
  struct Counters : Tally {
    // At or before every lease's expiry: while it is later than now, every lease is live and
    // none needs a look (leases without expiry never lapse: a count, not a walk).
    int64_t earliest_expiry = kNoExpiry;
    std::map<std::string, int64_t, std::less<>> leases;  // the key's leases: id -> expiry
  };
  static void roll(Tally& t, int64_t now_ms);
  static void drop_lapsed(Counters& c, int64_t now_ms);
  static int64_t live_leases(const Counters& c, int64_t now_ms);
  std::map<std::string, Counters, std::less<>> counters_;
};

// Unix ms of the next UTC midnight / first of next month after `now_ms`.
int64_t next_utc_day_ms(int64_t now_ms);
int64_t next_utc_month_ms(int64_t now_ms);

}  // namespace zproxy
