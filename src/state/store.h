#pragma once
// The state-store seam (docs/contract.md §14): the operations replicas share — client keys'
// limits and credential health — as typed values, the `memory` backend that applies them (the
// core's own semantics, which every backend must give: tests/fixtures/state/vectors.json), and
// the two wire forms of an operation (JSON for the Worker's Durable Object, which runs this
// same MemoryStore; Lua-script calls for Redis, in redis_ops.h). Sans-I/O: times come in as
// Unix milliseconds; a store holds no secret (a client key is its configured name, a
// credential its `cid` fingerprint).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "keys/client_keys.h"

namespace zproxy {

enum class StoreOpKind : uint8_t {
  kAdmit,   // key, limits, lease, ttl_ms → admission and the key's usage after it
  kRenew,   // key, lease, ttl_ms → live
  kSettle,  // key, lease, tokens → the key's usage after it
  kUsage,   // key → usage
  kMark,    // cid, mark, ttl_ms (remaining ms of the mark) → nothing
  kClear,   // cid → cleared (whether a mark was there)
  kHealth,  // → every live mark with its remaining ms
};

// "admit", "renew", … (the JSON form's `op`, metric labels).
std::string_view store_op_name(StoreOpKind kind);

// A credential's shared health: dead beats cool; of two marks of one kind the longer wins.
enum class CredMark : uint8_t { kNone, kCool, kDead };

struct StoreOp {
  StoreOpKind kind = StoreOpKind::kUsage;
  std::string key;                  // a client key's name: admit, renew, settle, usage
  KeyQuota limits;                  // admit
  std::string lease;                // admit, renew, settle: unique across replicas (random hex)
  int64_t ttl_ms = 0;               // admit, renew: the lease's TTL; mark: how long the mark holds
  int64_t tokens = 0;               // settle
  std::string cid;                  // mark, clear: the credential's fingerprint (16 hex)
  CredMark mark = CredMark::kNone;  // mark
};

struct HealthEntry {
  std::string cid;
  CredMark mark = CredMark::kNone;
  int64_t remaining_ms = 0;
};

struct StoreReply {
  Admission admission;              // admit
  bool live = false;                // renew
  bool cleared = false;             // clear
  KeyUsage usage;                   // admit, settle, usage: the key's counters afterwards
  std::vector<HealthEntry> health;  // health: sorted by cid
};

// The memory backend: one replica's state, and the semantics of every backend.
class MemoryStore {
 public:
  StoreReply apply(const StoreOp& op, int64_t now_ms);

  // Local decisions while a shared store is unreachable start from the counts it last gave.
  void seed(const std::string& key, const KeyUsage& usage, int64_t now_ms);

  // The whole state as JSON and back (a Durable Object persists it between calls); load()
  // of a bad text leaves the store empty and says so.
  std::string dump() const;
  Status load(std::string_view json);

 private:
  KeyLimits keys_;
  struct Mark {
    CredMark mark;
    int64_t until;
  };
  std::map<std::string, Mark, std::less<>> marks_;
};

// JSON form of an operation and its reply (the Worker → Durable Object call, the test
// vectors' steps): {"op":"admit","key":"team-a","limits":{"rpm":60},"lease":"…","ttl_ms":…}
// and {"admitted":true,"rpm_remaining":59,…,"usage":{…}}. `at` (tests only) replaces the
// store's clock.
std::string store_op_json(const StoreOp& op);
Result<StoreOp> parse_store_op(std::string_view json, int64_t* at = nullptr);
std::string store_reply_json(const StoreOp& op, const StoreReply& reply);
Result<StoreReply> parse_store_reply(StoreOpKind kind, std::string_view json);

// `"usage":{requests_this_window, concurrent, tokens_today, tokens_this_month}` (the store's
// replies add window_reset_ms; GET /v1/usage does not show it).
void write_key_usage_json(JsonWriter& w, const KeyUsage& u, bool with_window);

// A Durable Object's request handler: the op's JSON in, the reply's JSON out (400-style
// {"error":"…"} for a bad op).
std::string apply_store_json(MemoryStore& store, std::string_view op_json, int64_t now_ms);

// The name the Durable Object holding an operation's state is addressed by: "pool" for
// credential health, "key:<name>" for a client key's counters.
std::string store_object_name(const StoreOp& op);

}  // namespace zproxy
