// parse_redis_reply on arbitrary reply trees, for every operation: it must never crash, and
// what it accepts must be in range (a known limit or mark, counts not negative, live marks
// sorted by cid). The input encodes a tree: a tag byte per value (nil, integer and 8 bytes,
// string / status / error and a length byte, array and a count byte), depth at most 5.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "state/redis_ops.h"

namespace {

using zproxy::RespValue;

struct Input {
  const uint8_t* p;
  const uint8_t* end;
  uint8_t byte() { return p < end ? *p++ : 0; }
};

RespValue build(Input& in, int depth) {
  RespValue v;
  const uint8_t tag = in.byte();
  switch (tag % 6) {
    case 0: break;
    case 1: {
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) bits = bits << 8 | in.byte();
      v.type = RespValue::Type::kInteger;
      std::memcpy(&v.integer, &bits, sizeof bits);
      break;
    }
    case 2:
    case 3:
    case 4: {
      v.type = tag % 6 == 2   ? RespValue::Type::kString
               : tag % 6 == 3 ? RespValue::Type::kStatus
                              : RespValue::Type::kError;
      const size_t n = in.byte() % 48;
      for (size_t i = 0; i < n && in.p < in.end; ++i)
        v.text.push_back(static_cast<char>(in.byte()));
      break;
    }
    default: {
      v.type = RespValue::Type::kArray;
      const size_t n = depth < 5 ? in.byte() % 12 : 0;
      for (size_t i = 0; i < n; ++i) v.elements.push_back(build(in, depth + 1));
      break;
    }
  }
  return v;
}

void check(zproxy::StoreOpKind kind, const zproxy::StoreReply& r) {
  using zproxy::Limit;
  const zproxy::KeyUsage& u = r.usage;
  if (u.requests_this_window < 0 || u.concurrent < 0 || u.tokens_today < 0 ||
      u.tokens_this_month < 0 || u.window_reset_ms < 0) {
    __builtin_trap();
  }
  if (kind == zproxy::StoreOpKind::kAdmit &&
      (r.admission.refused > Limit::kTokensPerMonth || r.admission.retry_after_ms < 0)) {
    __builtin_trap();
  }
  for (size_t i = 0; i < r.health.size(); ++i) {
    const zproxy::HealthEntry& h = r.health[i];
    if (h.remaining_ms <= 0 || h.mark == zproxy::CredMark::kNone) __builtin_trap();
    if (i > 0 && !(r.health[i - 1].cid < h.cid)) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in{data, data + size};
  const RespValue reply = build(in, 0);
  for (int k = 0; k <= static_cast<int>(zproxy::StoreOpKind::kHealth); ++k) {
    const auto kind = static_cast<zproxy::StoreOpKind>(k);
    const zproxy::Result<zproxy::StoreReply> r = zproxy::parse_redis_reply(kind, reply);
    if (r.ok()) check(kind, *r);
  }
  return 0;
}
