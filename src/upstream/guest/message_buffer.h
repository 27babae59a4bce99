#pragma once
// The guest-mode message buffer M (docs/upstream.md §1.4): the whole answer as upstream's web
// client would display it, markup included. `delta_content` appends; `edit_index` +
// `edit_content` replace everything from a code-point offset on.
//
// Offsets count Unicode code points: a code point starts at every byte that is not a UTF-8
// continuation byte (10xxxxxx), so an astral-plane emoji counts once and an offset never lands
// inside a sequence. A cumulative count every kBlockBytes keeps offset lookups at
// O(log n + kBlockBytes) and appends at O(appended bytes).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zproxy::guest {

class MessageBuffer {
 public:
  explicit MessageBuffer(size_t max_bytes);

  // Appends `text`. False (and M unchanged) when M would exceed max_bytes.
  [[nodiscard]] bool append(std::string_view text);

  // M = M[0:cp_index) + text, where an index past the end means the end. Sets `byte_offset` to
  // the byte offset of the replacement point. False (and M unchanged) when M would exceed
  // max_bytes.
  [[nodiscard]] bool replace_from(uint64_t cp_index, std::string_view text, size_t& byte_offset);

  // Byte offset where code point `cp_index` starts; size() when cp_index >= code_points().
  size_t byte_offset(uint64_t cp_index) const;

  std::string_view view() const { return text_; }
  size_t size() const { return text_.size(); }
  uint64_t code_points() const { return code_points_; }

 private:
  static constexpr size_t kBlockBytes = 4096;
  void truncate(size_t byte_len);
  void index_tail();

  size_t max_bytes_;
  std::string text_;
  uint64_t code_points_ = 0;
  // block_cps_[i]: code points that start in text_[0, i * kBlockBytes); block_cps_[0] == 0.
  std::vector<uint64_t> block_cps_{0};
};

}  // namespace zproxy::guest
