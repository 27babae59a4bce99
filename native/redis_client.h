#pragma once
// The Redis connection of the state store (STATE_STORE=redis, docs/architecture.md §5.1): one
// connection per process on the host's io_context (no thread, no second event loop), plain TCP
// or TLS (rediss://, verified against REDIS_CA_FILE or the system bundle), speaking RESP
// through hiredis's formatter and reader (redis_resp.h).
//
// At connect: AUTH (user and password, or password), SELECT db, SCRIPT LOAD of every script
// (redis_ops.h). Each StoreCall is one EVALSHA (EVAL once after a NOSCRIPT, which loads the
// script again); concurrent calls are pipelined and answered in order. A lost connection is
// retried with jittered backoff from 100 ms up to backoff_max_ms; the host starts serving
// without waiting for it.
//
// Every call ends in exactly one StoreResult, delivered later on the loop (never from inside
// perform()): the decoded reply, or ok=false with a short reason: "timeout" (the call's
// timeout_ms passed), "connect" (no connection, or it dropped), "tls", "auth" (AUTH refused or
// required), "reply" (an error reply, a malformed one, or one over 1 MiB, which also drops
// the connection). While no connection is up calls fail at once with the reason of the last
// attempt. Neither a reason nor anything else the client produces contains the password; the
// client writes no log: what a failure means is the core's decision.

#include <utility>  // before Asio (Boost 1.74)

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "engine/gateway.h"

namespace zproxy::native {

namespace asio = boost::asio;

struct RedisSettings {
  bool tls = false;
  std::string host;
  int port = 6379;
  std::string user;      // with a password: AUTH user password
  std::string password;  // alone: AUTH password; empty: no AUTH
  int db = 0;
  std::string ca_file;  // TLS: trusted CAs besides the system bundle
  std::string key_prefix = "zp:";
  int64_t backoff_max_ms = 5000;
  int64_t connect_timeout_ms = 5000;  // TCP, TLS and the AUTH/SELECT/SCRIPT LOAD exchange
};

class RedisClient {
 public:
  using Done = std::function<void(const StoreResult&)>;
  virtual ~RedisClient() = default;
  // Errors (kInvalidConfig) name the setting: REDIS_CA_FILE.
  static Result<std::unique_ptr<RedisClient>> create(asio::io_context& io, RedisSettings settings);
  // Begins connecting in the background.
  virtual void start() = 0;
  // Performs the call; `done` runs exactly once, later, on the loop. StoreResult::error views
  // static text.
  virtual void perform(const StoreCall& call, Done done) = 0;
  // Closes the connection for good; calls not yet answered fail with "connect".
  virtual void stop() = 0;
};

}  // namespace zproxy::native
