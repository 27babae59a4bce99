#include "redis_resp.h"

#include <hiredis/hiredis.h>

namespace zproxy::native {
namespace {

RespValue convert(const redisReply& r) {
  RespValue v;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      v.type = RespValue::Type::kInteger;
      v.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      v.type = r.type == REDIS_REPLY_STRING   ? RespValue::Type::kString
               : r.type == REDIS_REPLY_STATUS ? RespValue::Type::kStatus
                                              : RespValue::Type::kError;
      v.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RespValue::Type::kArray;
      v.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) v.elements.push_back(convert(*r.element[i]));
      break;
    default: v.type = RespValue::Type::kNil; break;
  }
  return v;
}

}  // namespace

void append_command(std::string& out, const std::vector<std::string_view>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (std::string_view a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  const int n =
      redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  if (n > 0 && cmd != nullptr) out.append(cmd, static_cast<size_t>(n));
  redisFreeCommand(cmd);
}

void append_script_call(std::string& out, const RedisCall& call, std::string_view sha_or_text,
                        bool by_text) {
  const std::string nkeys = std::to_string(call.keys.size());
  std::vector<std::string_view> argv;
  argv.reserve(3 + call.keys.size() + call.args.size());
  argv.push_back(by_text ? "EVAL" : "EVALSHA");
  argv.push_back(sha_or_text);
  argv.push_back(nkeys);
  for (const std::string& k : call.keys) argv.push_back(k);
  for (const std::string& a : call.args) argv.push_back(a);
  append_command(out, argv);
}

void RespReader::Free::operator()(redisReader* r) const {
  redisReaderFree(r);
}

RespReader::RespReader() : reader_(redisReaderCreate()) {
  failed_ = reader_ == nullptr;
}

RespReader::~RespReader() = default;

bool RespReader::feed(const char* data, size_t size) {
  if (failed_) return false;
  since_reply_ += size;
  if (redisReaderFeed(reader_.get(), data, size) != REDIS_OK) failed_ = true;
  return !failed_;
}

RespReader::Next RespReader::next(RespValue& out) {
  if (failed_) return Next::kError;
  void* reply = nullptr;
  if (redisReaderGetReply(reader_.get(), &reply) != REDIS_OK) {
    failed_ = true;
    return Next::kError;
  }
  if (reply == nullptr) {
    if (since_reply_ > kMaxReplyBytes) failed_ = true;
    return failed_ ? Next::kError : Next::kNeedMore;
  }
  out = convert(*static_cast<redisReply*>(reply));
  freeReplyObject(reply);
  // What is left unparsed belongs to the replies after this one.
  since_reply_ = reader_->len - reader_->pos;
  return Next::kReply;
}

}  // namespace zproxy::native
