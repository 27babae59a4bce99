#pragma once
// Test support: Debian's redis-server started for one test on a free port chosen at run time,
// in a temporary directory (no persistence), stopped by its PID; optionally TLS-only (a CA and
// a server certificate for "localhost" made with the openssl command) and a password. A
// missing redis-server is a failure, never a skip. Plus a blocking connection that speaks RESP
// through the same formatter and reader as the native client (native/redis_resp.h).

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "native/redis_resp.h"
#include "state/redis_ops.h"

namespace zproxy::test {

struct RedisServerOptions {
  bool tls = false;      // --port 0 --tls-port <port>
  std::string password;  // --requirepass
};

class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();  // SIGTERM to the PID, waits, removes the directory
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Empty when the server runs; else what went wrong (with its log).
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  const std::string& ca_file() const { return ca_file_; }

 private:
  bool make_certificates();
  bool wait_ready();

  std::string dir_;
  std::string ca_file_;
  std::string error_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A blocking plain-TCP RESP connection to 127.0.0.1.
class BlockingRedis {
 public:
  explicit BlockingRedis(int port);
  ~BlockingRedis();
  BlockingRedis(const BlockingRedis&) = delete;
  BlockingRedis& operator=(const BlockingRedis&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends one command and returns its reply (a kError value with text "io" when the
  // connection failed).
  RespValue call(const std::vector<std::string_view>& argv);

 private:
  int fd_ = -1;
  native::RespReader reader_;
};

}  // namespace zproxy::test
