#pragma once
// TRANSITIONAL. RapidJSON's DOM for the code that still passes the client's OpenAI JSON around
// as a document, until the typed canonical request replaces it. Only these files may include
// this header (scripts/test.sh checks it):
//   src/dialect/openai_chat/chat_request.h, src/dialect/openai_chat/chat_request.cpp,
//   src/upstream/guest/chat_request.cpp, src/upstream/zai_api/request.cpp.
// It goes away with the canonical request; everything else reads JSON through JsonValue.
//
// Same rules as json/json.h: check a value's type (IsString(), IsObject(), …) before any
// Get*(); untrusted input is never an assertion. A JsonWriter takes these values through
// Accept (its methods have RapidJSON's handler shape).

#include <memory>
#include <string_view>

#include <rapidjson/document.h>

#include "json/json.h"

namespace zproxy {

// A JSON text parsed in place into RapidJSON's DOM: string values point into `text`. Movable
// without invalidating them. The document's values come from `pool`, whose chunks are sized
// to the text.
struct JsonInPlace {
  std::unique_ptr<char[]> text;
  std::unique_ptr<rapidjson::MemoryPoolAllocator<>> pool;  // outlives doc (declared before it)
  rapidjson::Document doc;
};
// parse_json_in_place's checks and errors, into RapidJSON's DOM (the text is copied).
Result<JsonInPlace> parse_json_in_place(std::string_view text, JsonLimits limits = {});

inline std::string_view as_view(const rapidjson::Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

// Small typed accessors for untrusted objects: nullptr / fallback when absent or mistyped.
// With duplicate keys the last one wins (JsonValue::member's rule).
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

inline void json_write_string(JsonWriter& w, std::string_view s) {
  w.String(s);
}
inline void json_write_key(JsonWriter& w, std::string_view s) {
  w.Key(s);
}

}  // namespace zproxy
