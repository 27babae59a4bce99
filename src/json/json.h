#pragma once
// Hostile-input JSON: every document from the network (client requests, upstream answers)
// goes through parse_json. It rejects nesting deeper than max_depth before parsing, then parses
// with RapidJSON's iterative parser, so no input can exhaust the native stack or the Wasm
// stack (RapidJSON's recursive destructor is also bounded by the depth cap).
//
// Callers must check types (IsString(), IsObject(), …) before any Get*(): untrusted input is
// never an assertion.

#include <cstddef>
#include <string>
#include <string_view>

#include <memory>
#include <optional>

#include <rapidjson/document.h>

#include "core/result.h"
#include "json/writer.h"

namespace zproxy {

inline constexpr size_t kDefaultJsonMaxDepth = 64;
// Cap on the values a document may hold (members and array elements; counted before parsing).
// The parsed form costs 16 to 32 bytes per value whatever the value's text, so `[1,1,1,…]`
// would turn every 2 bytes of input into up to 64 bytes of memory while parsing; the cap bounds
// that at a few MiB. Legitimate chat requests (long conversations, many tool schemas) hold tens
// of thousands of values.
inline constexpr size_t kDefaultJsonMaxValues = size_t{1} << 18;

struct JsonLimits {
  size_t max_depth = kDefaultJsonMaxDepth;
  size_t max_values = kDefaultJsonMaxValues;
};

// Errors: kInvalidJson with a message giving the offset and reason (depth cap included);
// kRequestTooLarge when the text holds more than max_values values.
Result<rapidjson::Document> parse_json(std::string_view text, JsonLimits limits = {});

// parse_json for a stream of small documents (one per upstream SSE event), reusing its memory
// from one to the next. Same checks, same errors. The value is valid until the next parse() and
// may point into `text`, which must outlive its use.
class JsonEventParser {
 public:
  JsonEventParser();
  ~JsonEventParser();
  JsonEventParser(const JsonEventParser&) = delete;
  JsonEventParser& operator=(const JsonEventParser&) = delete;

  Result<const rapidjson::Value*> parse(std::string_view text, JsonLimits limits = {});

 private:
  // Values and the parse stack both come from pool_, emptied before each document; a typical
  // event fits in its first buffer, so parsing one allocates nothing.
  using Pool = rapidjson::MemoryPoolAllocator<>;
  using Document = rapidjson::GenericDocument<rapidjson::UTF8<>, Pool, Pool>;
  static constexpr size_t kBufferBytes = 8u << 10;
  static constexpr size_t kStackBytes = 1u << 10;

  std::unique_ptr<char[]> buffer_;
  Pool pool_;
  std::optional<Document> doc_;
  std::optional<rapidjson::Document> fallback_;  // a text only the reference parser took
  std::string scratch_;                          // unescaped strings
};

// A JSON text parsed in place: string values point into `text`, so a large body is not copied
// again into the document. Movable without invalidating them.
//
// The document's values come from `pool`, whose chunks are sized to the text: RapidJSON's own
// default is a 64 KiB chunk per document, and glibc consolidates its free lists each time a
// block that large is freed (both cost more than parsing a typical request).
struct JsonInPlace {
  std::unique_ptr<char[]> text;
  std::unique_ptr<rapidjson::MemoryPoolAllocator<>> pool;  // outlives doc (declared before it)
  rapidjson::Document doc;
};
Result<JsonInPlace> parse_json_in_place(std::string_view text, JsonLimits limits = {});

inline std::string_view as_view(const rapidjson::Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

// Small typed accessors for untrusted objects: nullptr / fallback when absent or mistyped.
// json_member is inline: called with a literal key, its comparison reduces to a length test
// and a few byte compares (a plain loop, which compilers unroll, where a memcmp call may stay).
inline const rapidjson::Value* json_member(const rapidjson::Value& obj, std::string_view key) {
  if (!obj.IsObject()) return nullptr;
  auto same = [key](const rapidjson::Value& name) {
    if (name.GetStringLength() != key.size()) return false;
    const char* s = name.GetString();
    for (size_t i = 0; i < key.size(); ++i) {
      if (s[i] != key[i]) return false;
    }
    return true;
  };
  // With duplicate keys the last one wins, as in JavaScript and Python: the proxy reads the
  // value an upstream would read from the same bytes. Hence the search from the end.
  for (auto it = obj.MemberEnd(); it != obj.MemberBegin();) {
    --it;
    if (same(it->name)) return &it->value;
  }
  return nullptr;
}

inline bool json_is_string(const rapidjson::Value* v) {
  return v != nullptr && v->IsString();
}

inline std::string_view json_string(const rapidjson::Value& obj, std::string_view key,
                                    std::string_view fallback = {}) {
  const rapidjson::Value* v = json_member(obj, key);
  return json_is_string(v) ? as_view(*v) : fallback;
}

// Serialises a value compactly.
std::string json_dump(const rapidjson::Value& v);

inline void json_write_string(JsonWriter& w, std::string_view s) {
  w.String(s);
}
inline void json_write_key(JsonWriter& w, std::string_view s) {
  w.Key(s);
}

}  // namespace zproxy
