// The state store's JSON form on arbitrary bytes, both ways: a Durable Object applies any
// operation text it is sent (apply_store_json), and the Worker decodes any reply text an object
// sends back (parse_store_reply). Neither may crash; a bad operation changes nothing; an
// accepted operation's reply decodes again; the store's dump always loads back to itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "state/store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  zproxy::MemoryStore store;
  const std::string before = store.dump();
  const std::string reply = zproxy::apply_store_json(store, text, 1780315200000);
  int64_t at = 0;
  auto op = zproxy::parse_store_op(text, &at);
  if (!op.ok()) {
    if (store.dump() != before) __builtin_trap();
    if (reply.rfind("{\"error\":", 0) != 0) __builtin_trap();
  } else if (!zproxy::parse_store_reply(op->kind, reply).ok()) {
    __builtin_trap();
  }
  zproxy::MemoryStore copy;
  if (!copy.load(store.dump()).ok() || copy.dump() != store.dump()) __builtin_trap();
  for (uint8_t k = 0; k <= static_cast<uint8_t>(zproxy::StoreOpKind::kHealth); ++k) {
    (void)zproxy::parse_store_reply(static_cast<zproxy::StoreOpKind>(k), text);
  }
  (void)copy.load(text);
  return 0;
}
