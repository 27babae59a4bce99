#include "redis_resp.h"

#include <hiredis/hiredis.h>

#include <charconv>

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

namespace {

// "<tag><n>\r\n": an array's or a bulk string's header.
void append_header(std::string& out, char tag, size_t n) {
  char buf[24];
  buf[0] = tag;
  char* end = std::to_chars(buf + 1, buf + sizeof buf - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(buf, static_cast<size_t>(end - buf));
}

void append_bulk(std::string& out, std::string_view s) {
  append_header(out, '$', s.size());
  out.append(s);
  out.append("\r\n", 2);
}

}  // namespace

// Written here rather than through redisFormatCommandArgv: the same bytes, without its
// allocation and the argv arrays it needs (one script call per store call).
void append_script_call(std::string& out, const RedisCall& call, std::string_view sha_or_text,
                        bool by_text) {
  char nkeys[24];
  const char* nkeys_end = std::to_chars(nkeys, nkeys + sizeof nkeys, call.keys.size()).ptr;
  append_header(out, '*', 3 + call.keys.size() + call.args.size());
  append_bulk(out, by_text ? "EVAL" : "EVALSHA");
  append_bulk(out, sha_or_text);
  append_bulk(out, std::string_view(nkeys, static_cast<size_t>(nkeys_end - nkeys)));
  for (const std::string& k : call.keys) append_bulk(out, k);
  for (const std::string& a : call.args) append_bulk(out, a);
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
