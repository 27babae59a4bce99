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

#include <rapidjson/document.h>
#include <rapidjson/writer.h>

#include "core/json_buffer.h"
#include "core/result.h"

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

// A JSON text parsed in place: string values point into `text`, so a large body is not copied
// again into the document. Movable without invalidating them.
struct JsonInPlace {
  std::unique_ptr<char[]> text;
  rapidjson::Document doc;
};
Result<JsonInPlace> parse_json_in_place(std::string_view text, JsonLimits limits = {});

// Small typed accessors for untrusted objects: nullptr / fallback when absent or mistyped.
const rapidjson::Value* json_member(const rapidjson::Value& obj, std::string_view key);
std::string_view json_string(const rapidjson::Value& obj, std::string_view key,
                             std::string_view fallback = {});
bool json_is_string(const rapidjson::Value* v);

inline std::string_view as_view(const rapidjson::Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

// Serialises a value compactly.
std::string json_dump(const rapidjson::Value& v);

using JsonWriter = rapidjson::Writer<JsonBuffer>;
inline void json_write_string(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
inline void json_write_key(JsonWriter& w, std::string_view s) {
  w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace zproxy
