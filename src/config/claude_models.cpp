// Model names of the Messages dialect (docs/contract.md §12.3): Claude Code sends
// Anthropic names ("claude-sonnet-4-5-20250929", "…[1m]" for its long-context variant).

#include <string>

#include "config/config.h"
#include "core/ascii.h"

namespace zproxy {

std::string Config::resolve_claude_model(std::string_view name) const {
  if (find_model(name) != nullptr) return std::string(name);
  constexpr std::string_view kLongContext = "[1m]";
  const bool long_context = name.size() > kLongContext.size() && name.ends_with(kLongContext);
  const std::string_view base =
      long_context ? name.substr(0, name.size() - kLongContext.size()) : name;
  if (long_context && find_model(base) != nullptr) return std::string(base);
  for (const ModelEntry& m : claude_models) {
    if (icontains(name, m.public_name)) return m.upstream_id;
  }
  return mode == UpstreamMode::kApi ? std::string(base) : std::string();
}

}  // namespace zproxy
