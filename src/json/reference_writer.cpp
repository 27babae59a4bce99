// detail::rapidjson_dump (json/reference.h): a value written by RapidJSON's own Writer, the
// reference JsonWriter must match byte for byte. In a file of its own so that only the tests
// and the fuzz harness link it.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "json/builder.h"
#include "json/reference.h"

namespace zproxy::detail {

std::string rapidjson_dump(JsonValue v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  walk_json(JsonAccess::node(v), w);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string rapidjson_write_string(std::string_view s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(buf.GetString(), buf.GetSize());
}

std::string rapidjson_write_double(double d) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.Double(d);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace zproxy::detail
