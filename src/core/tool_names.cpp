#include "core/tool_names.h"

#include "core/sha256.h"

namespace zproxy {

std::string upstream_tool_name(std::string_view name) {
  if (name.size() <= kUpstreamToolNameMax) return std::string(name);
  std::string out(name.substr(0, 55));
  out += '_';
  out += sha256_hex(name).substr(0, 8);
  return out;
}

}  // namespace zproxy
