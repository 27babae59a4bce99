#pragma once
// Hostile-input JSON: every document from the network (client requests, upstream answers)
// goes through parse_json, parse_json_in_place or a JsonEventParser. Nesting deeper than
// max_depth is refused before any value is built, and the readers keep their own stacks, so no
// input can exhaust the native or the Wasm stack.
//
// Reading: JsonValue (json/value.h), a view whose every accessor checks the value's kind;
// writing: JsonWriter (json/writer.h). Only src/json/*.cpp see RapidJSON, whose reader and
// number conversions stay the reference behaviour (docs/architecture.md §2).

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "json/value.h"
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

namespace detail {
struct JsonStorage;
}

// A parsed document: the root value and everything its views point into. Movable; views taken
// from it stay valid across moves and die with it (`JsonValue v = *parse_json(s);` dangles).
class JsonDocument : public JsonValue {
 public:
  JsonDocument(JsonDocument&& other) noexcept;
  JsonDocument& operator=(JsonDocument&& other) noexcept;
  ~JsonDocument();

 private:
  friend struct detail::JsonAccess;
  explicit JsonDocument(std::unique_ptr<detail::JsonStorage> storage);
  std::unique_ptr<detail::JsonStorage> storage_;
};

// Errors: kInvalidJson with a message giving the offset and reason (depth cap included);
// kRequestTooLarge when the text holds more than max_values values. Strings are copied: `text`
// may go away after the call.
Result<JsonDocument> parse_json(std::string_view text, JsonLimits limits = {});

// parse_json of one copy of `text` the document keeps: strings are unescaped where they lie in
// it and point into it, so a large body is not copied again. Same checks, same errors.
Result<JsonDocument> parse_json_in_place(std::string_view text, JsonLimits limits = {});

// parse_json for a stream of small documents (one per upstream SSE event), reusing its memory
// from one to the next: a typical event is parsed without allocating. Same checks, same errors.
// The value is valid until the next parse() and may point into `text`, which must outlive it.
class JsonEventParser {
 public:
  JsonEventParser();
  ~JsonEventParser();
  JsonEventParser(const JsonEventParser&) = delete;
  JsonEventParser& operator=(const JsonEventParser&) = delete;

  Result<JsonValue> parse(std::string_view text, JsonLimits limits = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zproxy
