#pragma once
// One pool for guest tokens (fetched, aged out, replaced) and API keys (static). Sans-I/O:
// every method takes the monotonic time `now` in ms; the pool never reads a clock. The host
// asks next_deadline() when to call back.
//
// Choice: least recently used healthy credential under its in-flight cap; ties broken by the
// lower slot number (insertion order), so the order is deterministic.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/upstream.h"

namespace zproxy {

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

struct PoolSettings {
  size_t target_size = 0;           // fetched credentials to keep (static pools: ignored)
  int64_t max_age_ms = 0;           // fetched credentials retire at this age; 0 = never
  uint32_t max_inflight = 0;        // concurrent leases per credential; 0 = no cap
  int64_t busy_cooldown_ms = 5000;  // kCooldown without a duration
  int64_t backoff_min_ms = 1000;    // after a failed fetch; doubles per failure
  int64_t backoff_max_ms = 30000;
  size_t max_parallel_fetches = 8;  // never above the number of missing credentials either
};

struct Lease {
  uint32_t slot = 0;
  uint32_t generation = 0;  // guards against a slot reused by a newer credential
};

enum class AcquireStatus : uint8_t {
  kLeased,        // lease is valid
  kWaitFetch,     // none usable, but a fetch is in flight or due: wait for a change
  kWaitCapacity,  // all usable ones are at their in-flight cap: wait for a release
  kWaitCooldown,  // all live ones are cooling down; `until` is the earliest end
  kNone,          // nothing usable and nothing coming (size 0, all dead)
};

struct Acquire {
  AcquireStatus status = AcquireStatus::kNone;
  Lease lease;
  int64_t until = kNever;  // kWaitCooldown: earliest cooldown end (monotonic ms)
};

// A credential's fingerprint for a shared store and the admin API (docs/contract.md §14): 16
// hex of SHA-256 over a fixed prefix and the secret. Never reversible to the secret.
std::string credential_cid(std::string_view secret);

// Health other replicas reported for a credential (STATE_STORE): dead or cooling until `until`
// (monotonic ms of this replica).
struct SharedMark {
  std::string cid;
  bool dead = false;
  int64_t until = 0;
};

struct PoolCounts {
  size_t healthy = 0;   // usable now (in-flight cap aside)
  size_t cooling = 0;   // cooling down
  size_t dead = 0;      // rejected, kept for the record until replaced (static keys: forever)
  size_t fetching = 0;  // fetches in flight
};

class CredentialPool {
 public:
  // Static credentials (API keys), never refreshed, never aged.
  CredentialPool(PoolSettings settings, std::vector<std::string> static_secrets);
  // Fetched credentials (guest tokens): empty at first; start_fetches() says when to fetch.
  explicit CredentialPool(PoolSettings settings);

  // Least recently used healthy credential, preferring ones not in `avoid` (credentials this
  // request already tried); falls back to an avoided one if it is the only one free.
  Acquire acquire(int64_t now, std::span<const Lease> avoid = {});
  // The secret behind a lease (empty if the lease is stale). Valid until the next mutation.
  std::string_view secret(Lease lease) const;
  // At most the last 4 characters, for logs.
  std::string fingerprint(Lease lease) const;

  // The leased request ended well.
  void release_ok(Lease lease, int64_t now);
  // The leased request failed. kDead: never used again; kCooldown: unusable until
  // `cooldown_until` (monotonic ms; 0 = now + busy_cooldown_ms); other verdicts only release.
  void release_failed(Lease lease, Verdict verdict, int64_t now, int64_t cooldown_until = 0);

  // Fetched pools: how many fetches the host should start now (they are counted in flight).
  // Respects the target size, credentials nearing max age, the backoff after failures and
  // max_parallel_fetches.
  size_t start_fetches(int64_t now);
  // One fetch ended: a new secret, or failure (empty view) which extends the backoff.
  void on_fetched(int64_t now, std::string_view secret_or_empty);

  // Static pools: the credential's cid (empty for a stale lease).
  std::string cid(Lease lease) const;
  // The health the shared store holds now: replaces what the previous call gave (a mark
  // missing from `marks` has expired or was cleared). Local marks stay.
  void apply_shared_health(std::span<const SharedMark> marks, int64_t now);
  // Clears every mark (local and shared) of the credential `cid`; false when no credential
  // has it.
  bool clear_marks(std::string_view cid);
  // This replica's own marks still in force, to publish to a store (dead: until kNever).
  std::vector<SharedMark> local_marks(int64_t now) const;

  // Earliest monotonic time at which state changes by itself (cooldown end, age-out, backoff
  // end); kNever when nothing is scheduled.
  int64_t next_deadline(int64_t now) const;
  PoolCounts counts(int64_t now) const;
  // Bumped on every change that may let a waiting request proceed.
  uint64_t version() const { return version_; }
  // start_fetches(now) would start at least one fetch (without starting it).
  bool wants_fetch(int64_t now) const;

 private:
  struct Slot {
    std::string secret;
    uint32_t generation = 0;
    bool live = false;  // slot holds a credential
    bool dead = false;
    int64_t created = 0;
    int64_t last_used = -1;  // for LRU; -1 = never
    int64_t cooldown_until = 0;
    uint32_t inflight = 0;
    std::string cid;  // static pools
    int64_t shared_dead_until = 0;
    int64_t shared_cool_until = 0;
  };
  bool fetched_ = false;
  PoolSettings settings_;
  std::vector<Slot> slots_;
  size_t fetching_ = 0;
  int fetch_failures_ = 0;
  int64_t backoff_until_ = 0;
  uint64_t version_ = 0;
};

}  // namespace zproxy
