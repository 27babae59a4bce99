#pragma once
// Internal to src/json, for the tests and the fuzz harness: the references JsonWriter must
// agree with.

#include <string>
#include <string_view>

namespace zproxy::detail {

// What RapidJSON's Writer makes of a string and of a double: JsonWriter must write the same
// bytes.
std::string rapidjson_write_string(std::string_view s);
std::string rapidjson_write_double(double d);

}  // namespace zproxy::detail
