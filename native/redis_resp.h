#pragma once
// RESP on the wire through Debian's hiredis, its protocol parts only: the command formatter
// and the incremental reply reader. No sockets here (redis_client.cpp owns them); the state
// store's tests use the same two pieces over a plain socket.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "state/redis_ops.h"

struct redisReader;

namespace zproxy::native {

// Appends one command (argv[0] the command name) in RESP, as redisFormatCommandArgv writes it.
void append_command(std::string& out, const std::vector<std::string_view>& argv);

// The command that runs `call`: EVALSHA with the script's SHA, or EVAL with its text.
void append_script_call(std::string& out, const RedisCall& call, std::string_view sha_or_text,
                        bool by_text);

// Replies in order from bytes in any chunking. A reply still incomplete after more than
// kMaxReplyBytes have arrived for it is an error, as is a protocol error; both are final.
class RespReader {
 public:
  static constexpr size_t kMaxReplyBytes = 1u << 20;
  enum class Next : uint8_t { kReply, kNeedMore, kError };

  RespReader();
  ~RespReader();
  RespReader(const RespReader&) = delete;
  RespReader& operator=(const RespReader&) = delete;

  // false: the reader failed (see next()).
  bool feed(const char* data, size_t size);
  // kReply: `out` holds the next reply.
  Next next(RespValue& out);

 private:
  struct Free {
    void operator()(redisReader* r) const;
  };
  std::unique_ptr<redisReader, Free> reader_;
  size_t since_reply_ = 0;  // bytes fed since the last complete reply
  bool failed_ = false;
};

}  // namespace zproxy::native
