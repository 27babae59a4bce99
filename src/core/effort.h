#pragma once
// Reasoning efforts in order. An effort a model lacks becomes the nearest it has, ties rounding
// up (docs/contract.md §3, MODEL_CAPS).

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace zproxy {

inline constexpr std::string_view kEffortScale[] = {"none", "minimal", "low", "medium",
                                                    "high", "xhigh",   "max"};

// The effort's place on the scale, or -1 when it is not one.
inline int effort_rank(std::string_view effort) {
  const auto* it = std::find(std::begin(kEffortScale), std::end(kEffortScale), effort);
  return it == std::end(kEffortScale) ? -1 : static_cast<int>(it - std::begin(kEffortScale));
}

// The effort of `offered` nearest to `wanted` (ties: the higher one); `wanted` itself when it is
// offered or not on the scale, empty when nothing is offered.
inline std::string nearest_effort(std::string_view wanted,
                                  const std::vector<std::string>& offered) {
  if (offered.empty()) return {};
  const int w = effort_rank(wanted);
  if (w < 0 || std::find(offered.begin(), offered.end(), wanted) != offered.end()) {
    return std::string(wanted);
  }
  std::string best;
  int best_distance = 1 << 20;
  int best_rank = -1;
  for (const std::string& o : offered) {
    const int r = effort_rank(o);
    if (r < 0) continue;
    const int d = r > w ? r - w : w - r;
    if (d < best_distance || (d == best_distance && r > best_rank)) {
      best = o;
      best_distance = d;
      best_rank = r;
    }
  }
  return best.empty() ? std::string(wanted) : best;
}

}  // namespace zproxy
