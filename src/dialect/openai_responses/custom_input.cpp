#include "dialect/openai_responses/custom_input.h"

#include "json/json.h"

namespace zproxy {

std::string custom_tool_input(std::string_view arguments) {
  auto doc = parse_json(arguments);
  if (doc) {
    const JsonValue input = doc->member("input");
    if (input.is_string()) return std::string(input.string());
  }
  return std::string(arguments);
}

}  // namespace zproxy
