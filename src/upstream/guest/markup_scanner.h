#pragma once
// The grammar of the guest message buffer M (docs/upstream.md §1.5), read left to right one
// decision at a time. Each step either consumes bytes of M (emitting a sub-range of M to the
// reasoning or content channel, or nothing) or asks for more bytes because the tail is still
// ambiguous (a partial tag, a "\n" that may precede "</details>", a ">" that may start "> ").
//
//   M          := ( text | reasoning | island | other-details )*
//   reasoning  := "<details" attrs-with-type="reasoning" ">" head body ( "</details>" "\n"? )
//   head       := "\n"? ( "<summary" … "</summary>" "\n"? )?
//   body       := lines separated by "\n"; each line loses a leading "> " (or a ">" that ends
//                 the line); the "\n" right before "</details>" is dropped
//   island     := "<glm_block" … "</glm_block>"      (hidden, also inside a body)
//   other-details: any other "<details …>" tag and its "</details>" are plain text
//
// A tag whose ">" (or a summary whose "</summary>") is not within kMaxTagBytes is plain text,
// so the look-ahead of any decision is bounded.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace zproxy::guest {

enum class Channel : uint8_t { kReasoning, kContent };

enum class ScanMode : uint8_t {
  kContent,         // outside any block
  kHeadNewline,     // just after the reasoning open tag
  kHeadSummary,     // where a <summary> may start
  kSummaryNewline,  // just after </summary>
  kReasoning,       // reasoning body
  kIsland,          // inside <glm_block>, until </glm_block>
};

struct ScanState {
  ScanMode mode = ScanMode::kContent;
  ScanMode island_return = ScanMode::kContent;  // mode after </glm_block>
  bool line_start = true;                       // kReasoning: at the start of a body line
  bool skip_newline = false;                    // kContent: drop one "\n" right after </details>
};

inline constexpr size_t kMaxTagBytes = 4096;

struct ScanStep {
  bool need_more = false;   // nothing decided: the tail of M is ambiguous
  size_t consumed = 0;      // bytes of M consumed (may be 0 when only the state changed)
  size_t examined_end = 0;  // the decision depended on M[0, examined_end) only
  Channel channel = Channel::kContent;
  size_t out_begin = 0;  // M[out_begin, out_begin + out_len) goes to `channel`
  size_t out_len = 0;
};

// One decision at byte `pos` of m; updates `state` unless need_more.
ScanStep scan_step(std::string_view m, size_t pos, ScanState& state);

// End of the answer: what the ambiguous tail m[pos:] means when no more bytes will come.
// Dangling markup, a final "\n" of a body and a final line-start ">" are dropped; any other
// tail is plain text of the current channel.
ScanStep scan_tail(std::string_view m, size_t pos, const ScanState& state);

}  // namespace zproxy::guest
