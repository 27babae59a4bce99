#pragma once
// Internal to src/json: how parsed values are built and stored. A reader (FastReader, or
// RapidJSON's Reader) sends SAX events to a JsonBuilder, which lays the values out as JsonNodes
// (json/value.h) in a pool freed all at once.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <rapidjson/allocators.h>

#include "json/json.h"

namespace zproxy::detail {

// Nodes and copied strings of one document (8-byte aligned blocks, freed all at once).
using JsonPool = rapidjson::MemoryPoolAllocator<>;

// What a JsonDocument owns: the text when parsed in place (strings point into it), the pool
// and the root node. Never moves once built (a JsonDocument holds it by pointer).
struct JsonStorage {
  explicit JsonStorage(size_t chunk_bytes) : pool(chunk_bytes) {}
  std::string text;
  JsonPool pool;
  JsonNode root{};
};

// Pool chunks of about the text's size (a parsed value takes 16-32 bytes for every few bytes of
// text), kept under the 64 KiB at which glibc's free() consolidates its free lists (RapidJSON's
// own default is a 64 KiB chunk per document, which costs more than parsing a small one). A
// small document's chunk, with RapidJSON's 24-byte header, stays within the 1,032 bytes glibc
// serves from its per-thread cache; a larger one would first consolidate glibc's free lists.
inline size_t pool_chunk_bytes(size_t text_bytes) {
  constexpr size_t kMinChunk = 1000;
  constexpr size_t kMaxChunk = 60u << 10;
  return std::clamp(text_bytes * 2, kMinChunk, kMaxChunk);
}

// Sends `v` to a SAX handler (JsonWriter, or RapidJSON's Writer for the tests): strings and keys
// as (pointer, length, false), containers with their counts. Iterative, so that a document as
// deep as its parse limits allowed cannot exhaust the stack. False for an absent value or as
// soon as the handler refuses.
template <class Handler>
bool walk_json(const JsonNode* n, Handler& h);

// The way in and out of JsonValue and JsonDocument for the code that builds them.
struct JsonAccess {
  static const JsonNode* node(JsonValue v) { return v.node_; }
  static JsonValue view(const JsonNode* node) { return JsonValue(node); }
  static JsonDocument document(std::unique_ptr<JsonStorage> storage) {
    return JsonDocument(std::move(storage));
  }
};

// A SAX handler in RapidJSON's Handler shape (FastReader calls the same methods). Scalars are
// pushed on `stack`; a container's end moves its children from the stack into the pool. With
// copy false a string is referenced where it lies, so its bytes must outlive the document.
class JsonBuilder {
 public:
  static constexpr size_t kStackStart = 32;  // nodes: 512 bytes

  JsonBuilder(JsonPool& pool, std::vector<JsonNode>& stack) : pool_(pool), stack_(stack) {
    stack_.clear();
    // A small document (a chat request, a short answer) in one allocation, not one per doubling.
    if (stack_.capacity() < kStackStart) stack_.reserve(kStackStart);
  }

  bool Null() { return push(JsonType::kNull, {.i = 0}); }
  bool Bool(bool b) { return push(b ? JsonType::kTrue : JsonType::kFalse, {.i = 0}); }
  bool Int(int i) { return Int64(i); }
  bool Uint(unsigned u) { return Int64(u); }
  bool Int64(int64_t i) { return push(JsonType::kInt, {.i = i}); }
  bool Uint64(uint64_t u) {
    if (u <= static_cast<uint64_t>(INT64_MAX)) return Int64(static_cast<int64_t>(u));
    return push(JsonType::kUint, {.u = u});
  }
  bool Double(double d) { return push(JsonType::kDouble, {.d = d}); }
  bool RawNumber(const char*, unsigned, bool) { return false; }  // numbers are never raw here
  bool String(const char* s, unsigned n, bool copy) {
    if (copy && n > 0) {
      char* const to = static_cast<char*>(pool_.Malloc(n));
      if (to == nullptr) return false;
      std::memcpy(to, s, n);
      s = to;
    }
    stack_.push_back({.v = {.str = s}, .size = n, .type = JsonType::kString});
    return true;
  }
  bool Key(const char* s, unsigned n, bool copy) { return String(s, n, copy); }
  bool StartObject() { return true; }
  bool EndObject(unsigned members) {
    return close(JsonType::kObject, members, 2 * size_t{members});
  }
  bool StartArray() { return true; }
  bool EndArray(unsigned elements) { return close(JsonType::kArray, elements, elements); }

  // After a whole document: its root.
  const JsonNode& root() const { return stack_.back(); }

 private:
  bool push(JsonType type, JsonNode::Payload v) {
    stack_.push_back({.v = v, .size = 0, .type = type});
    return true;
  }

  bool close(JsonType type, unsigned size, size_t nodes) {
    JsonNode* kids = nullptr;
    if (nodes > 0) {
      kids = static_cast<JsonNode*>(pool_.Malloc(nodes * sizeof(JsonNode)));
      if (kids == nullptr) return false;
      std::memcpy(kids, stack_.data() + (stack_.size() - nodes), nodes * sizeof(JsonNode));
      stack_.resize(stack_.size() - nodes);
    }
    stack_.push_back({.v = {.kids = kids}, .size = size, .type = type});
    return true;
  }

  JsonPool& pool_;
  std::vector<JsonNode>& stack_;
};

template <class Handler>
bool walk_json(const JsonNode* n, Handler& h) {
  struct Open {
    const JsonNode* begin;
    const JsonNode* next;
    const JsonNode* end;
    unsigned size;
    bool object;
  };
  std::vector<Open> open;
  bool key = false;  // n is a member's name
  for (;;) {
    bool ok = true;
    switch (n->type) {
      case JsonType::kAbsent: return false;
      case JsonType::kNull: ok = h.Null(); break;
      case JsonType::kFalse: ok = h.Bool(false); break;
      case JsonType::kTrue: ok = h.Bool(true); break;
      case JsonType::kInt: ok = h.Int64(n->v.i); break;
      case JsonType::kUint: ok = h.Uint64(n->v.u); break;
      case JsonType::kDouble: ok = h.Double(n->v.d); break;
      case JsonType::kString:
        ok = key ? h.Key(n->v.str, n->size, false) : h.String(n->v.str, n->size, false);
        break;
      case JsonType::kArray:
        ok = h.StartArray();
        open.push_back({n->v.kids, n->v.kids, n->v.kids + n->size, n->size, false});
        break;
      case JsonType::kObject:
        ok = h.StartObject();
        open.push_back({n->v.kids, n->v.kids, n->v.kids + 2 * size_t{n->size}, n->size, true});
        break;
    }
    if (!ok) return false;
    for (;;) {
      if (open.empty()) return true;
      Open& top = open.back();
      if (top.next != top.end) {
        key = top.object && (top.next - top.begin) % 2 == 0;
        n = top.next++;
        break;
      }
      ok = top.object ? h.EndObject(top.size) : h.EndArray(top.size);
      open.pop_back();
      if (!ok) return false;
    }
  }
}

}  // namespace zproxy::detail
