#include "engine/stop_matcher.h"

#include <algorithm>

namespace zproxy {
namespace {

constexpr uint64_t kNoMatch = UINT64_MAX;

// Bytes a UTF-8 sequence starting with `lead` announces (1 for ASCII and invalid leads).
size_t utf8_announced_length(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF8) return 4;
  return 1;
}

std::vector<uint32_t> kmp_failure(std::string_view p) {
  std::vector<uint32_t> fail(p.size(), 0);
  uint32_t k = 0;
  for (size_t i = 1; i < p.size(); ++i) {
    while (k > 0 && p[i] != p[k]) k = fail[k - 1];
    if (p[i] == p[k]) ++k;
    fail[i] = k;
  }
  return fail;
}

}  // namespace

size_t utf8_complete_prefix(std::string_view s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back for its lead
    return back < utf8_announced_length(c) ? n - back : n;
  }
  return n;
}

StopMatcher::StopMatcher(const std::vector<std::string>& stops) {
  for (const std::string& s : stops) {
    if (s.empty()) continue;
    patterns_.push_back(Pattern{s, kmp_failure(s), 0});
  }
}

void StopMatcher::step(unsigned char c) {
  ++pos_;
  for (size_t i = 0; i < patterns_.size(); ++i) {
    Pattern& p = patterns_[i];
    const auto& t = p.text;
    while (p.state > 0 && static_cast<unsigned char>(t[p.state]) != c)
      p.state = p.fail[p.state - 1];
    if (static_cast<unsigned char>(t[p.state]) == c) ++p.state;
    if (p.state == t.size()) {
      if (pos_ - t.size() < match_start_) {
        match_start_ = pos_ - t.size();
        match_pattern_ = i;
      }
      p.state = p.fail[t.size() - 1];
    }
  }
}

// A completed match is final once no partial match starting before it remains: partial
// matches can only start later from now on.
bool StopMatcher::decided() const {
  if (match_start_ == kNoMatch) return false;
  return std::all_of(patterns_.begin(), patterns_.end(),
                     [&](const Pattern& p) { return pos_ - p.state >= match_start_; });
}

void StopMatcher::release_prefix(size_t n, std::string& out) {
  out.append(pending_, 0, n);
  pending_.erase(0, n);
  base_ += n;
}

StopScan StopMatcher::cut(std::string& out) {
  out.append(pending_, 0, static_cast<size_t>(match_start_ - base_));
  pending_.clear();
  matched_ = true;
  return StopScan::kMatched;
}

StopScan StopMatcher::feed(std::string_view text, std::string& out) {
  if (matched_) return StopScan::kMatched;
  if (patterns_.empty() && pending_.empty()) {
    // Only an incomplete trailing code point can be held: release the rest without the round
    // trip through pending_.
    const size_t complete = utf8_complete_prefix(text);
    out.append(text.data(), complete);
    if (complete < text.size()) pending_.assign(text.substr(complete));
    pos_ += text.size();
    base_ += complete;
    return StopScan::kOpen;
  }
  const size_t old_size = pending_.size();
  pending_.append(text);
  if (patterns_.empty()) {
    pos_ += text.size();
  } else {
    for (size_t i = old_size; i < pending_.size(); ++i) {
      step(static_cast<unsigned char>(pending_[i]));
      if (decided()) return cut(out);
    }
  }
  uint64_t keep_from = std::min(pos_, match_start_);
  for (const Pattern& p : patterns_) keep_from = std::min(keep_from, pos_ - p.state);
  const auto releasable = static_cast<size_t>(keep_from - base_);
  release_prefix(utf8_complete_prefix(std::string_view(pending_).substr(0, releasable)), out);
  return StopScan::kOpen;
}

bool StopMatcher::pass_through(std::string_view text) {
  if (!patterns_.empty() || !pending_.empty() || matched_) return false;
  if (utf8_complete_prefix(text) != text.size()) return false;
  pos_ += text.size();
  base_ += text.size();
  return true;
}

StopScan StopMatcher::flush(std::string& out) {
  if (matched_) return StopScan::kMatched;
  if (match_start_ != kNoMatch) return cut(out);
  release_prefix(pending_.size(), out);
  for (Pattern& p : patterns_) p.state = 0;
  return StopScan::kOpen;
}

}  // namespace zproxy
