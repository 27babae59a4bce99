#pragma once
// Stop sequences over a text stream that arrives in arbitrary pieces.
//
// The answer is cut before the earliest-starting occurrence of any stop string, even when the
// occurrence straddles pieces. Text is released as soon as it can no longer be part of a match:
// only the longest pending suffix that is a prefix of some stop string is held back (plus, while
// a completed match waits, whatever an earlier-starting partial match still covers). Released
// text never ends inside a UTF-8 code point: an incomplete trailing sequence (at most 3 bytes) is
// held until the next piece or flush().
//
// Matching is byte-wise with one KMP automaton per stop string: feeding n bytes costs
// O((n + longest stop) * stop count), never a rescan of earlier text. Empty stop strings are
// ignored; with none, the matcher only holds incomplete code points.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zproxy {

enum class StopScan : uint8_t {
  kOpen,     // no match: keep feeding
  kMatched,  // a stop string matched: the output ends just before it; later input is ignored
};

class StopMatcher {
 public:
  explicit StopMatcher(const std::vector<std::string>& stops);

  // Appends to `out` the text now known to precede any match.
  StopScan feed(std::string_view text, std::string& out);
  // The common case without copying: true when `text` is released whole as it is (no stop
  // strings, nothing held, `text` ends on a code-point boundary), and then counts it as fed.
  // false: nothing happened; feed() it.
  bool pass_through(std::string_view text);
  // End of a segment (end of the answer, or a break no match may span): appends everything
  // held, or the text before a completed match, and restarts matching from an empty state.
  StopScan flush(std::string& out);

  bool matched() const { return matched_; }
  // The stop string that matched (the earliest-starting; of equal starts, the first to
  // complete); empty before a match. Valid as long as the matcher.
  std::string_view matched_stop() const {
    return matched_ ? std::string_view(patterns_[match_pattern_].text) : std::string_view();
  }
  // Bytes fed but not yet released.
  size_t held_size() const { return pending_.size(); }

 private:
  struct Pattern {
    std::string text;
    std::vector<uint32_t> fail;  // KMP: fail[i] = longest proper border of text[0..i]
    size_t state = 0;            // length of the longest prefix of text ending the stream
  };

  void step(unsigned char c);
  bool decided() const;
  void release_prefix(size_t n, std::string& out);
  StopScan cut(std::string& out);

  std::vector<Pattern> patterns_;
  std::string pending_;  // fed, not released; pending_[0] is at stream offset base_
  uint64_t base_ = 0;
  uint64_t pos_ = 0;                   // stream bytes fed (= base_ + pending_.size())
  uint64_t match_start_ = UINT64_MAX;  // earliest completed match, UINT64_MAX when none
  size_t match_pattern_ = 0;           // the pattern of that match
  bool matched_ = false;
};

// The length of `s` without an incomplete UTF-8 sequence at its very end (a lead byte followed
// by fewer continuation bytes than it announces). Invalid bytes elsewhere are not judged here.
size_t utf8_complete_prefix(std::string_view s);

}  // namespace zproxy
