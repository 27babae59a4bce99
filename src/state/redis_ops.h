#pragma once
// The Redis form of the state-store operations (STATE_STORE=redis, docs/architecture.md §9):
// one atomic Lua script per StoreOpKind, the keys and arguments of an operation's call, and
// the decoding of the script's reply. Sans-I/O: the native host owns the connection, speaks
// RESP (hiredis's reader and formatter) and hands replies back as RespValue.
//
// Key layout, all under the prefix (STATE_KEY_PREFIX), hash-tagged so that each script touches
// one cluster slot:
//   <prefix>{k:<name>}:c   hash: the client key's counters (rpm window start and count, UTC
//                           day and month numbers with their tokens)
//   <prefix>{k:<name>}:l   sorted set: lease id → expiry (Unix ms)
//   <prefix>{pool}:m       hash: credential cid → "<mark>:<until Unix ms>"
// Scripts purge expired leases and marks themselves and give every key a PEXPIRE, so keys of
// idle client keys vanish. Time is the store's own clock (TIME) unless the call carries `at`
// (tests only); replies carry remaining milliseconds, so replica clocks never matter.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "state/store.h"

namespace zproxy {

// A RESP reply, whatever parsed it.
struct RespValue {
  enum class Type : uint8_t { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;              // kInteger
  std::string text;                 // kString, kStatus, kError
  std::vector<RespValue> elements;  // kArray
};

// One script call: EVALSHA <sha of redis_script(script)> <keys.size()> keys... args...
struct RedisCall {
  size_t script = 0;
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

// The scripts, indexed by StoreOpKind's value. Views of static text.
size_t redis_script_count();
std::string_view redis_script(size_t index);

// The call performing `op`. `prefix` is STATE_KEY_PREFIX; `at` (Unix ms) replaces the
// store's clock (the test vectors' steps).
RedisCall redis_call(const StoreOp& op, std::string_view prefix, std::optional<int64_t> at = {});

// The script's reply as the operation's StoreReply; a reply of the wrong shape (an error
// reply, wrong types, short arrays, values out of range) is an error, never a guess.
Result<StoreReply> parse_redis_reply(StoreOpKind kind, const RespValue& reply);

}  // namespace zproxy
