#pragma once
// Internal to src/json, for the tests and the fuzz harness: the references parse_json and
// JsonWriter must agree with.

#include <string>
#include <string_view>

#include "core/result.h"
#include "json/json.h"

namespace zproxy::detail {

// prescan, then RapidJSON's reader: what parse_json falls back to when its single-pass reader
// does not take a text, and so the source of every error message. parse_json gives the same
// result for every text.
Result<JsonDocument> parse_json_reference(std::string_view text, JsonLimits limits = {});

// What RapidJSON's Writer makes of a value, of a string and of a double: JsonWriter must write
// the same bytes.
std::string rapidjson_dump(JsonValue v);
std::string rapidjson_write_string(std::string_view s);
std::string rapidjson_write_double(double d);

}  // namespace zproxy::detail
