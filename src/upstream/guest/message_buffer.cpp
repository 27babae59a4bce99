#include "upstream/guest/message_buffer.h"

#include <algorithm>

namespace zproxy::guest {
namespace {

bool starts_code_point(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
}

uint64_t count_code_points(std::string_view s) {
  uint64_t n = 0;
  for (char c : s) n += starts_code_point(c) ? 1 : 0;
  return n;
}

}  // namespace

MessageBuffer::MessageBuffer(size_t max_bytes) : max_bytes_(max_bytes) {}

bool MessageBuffer::append(std::string_view text) {
  if (text.size() > max_bytes_ - text_.size()) return false;
  text_.append(text);
  code_points_ += count_code_points(text);
  index_tail();
  return true;
}

bool MessageBuffer::replace_from(uint64_t cp_index, std::string_view text, size_t& byte_offset) {
  const size_t at = this->byte_offset(cp_index);
  if (text.size() > max_bytes_ - at) return false;
  truncate(at);
  byte_offset = at;
  return append(text);
}

size_t MessageBuffer::byte_offset(uint64_t cp_index) const {
  if (cp_index >= code_points_) return text_.size();
  // The last block whose start has at most cp_index code points before it holds the start.
  auto it = std::upper_bound(block_cps_.begin(), block_cps_.end(), cp_index);
  const size_t block = static_cast<size_t>(it - block_cps_.begin()) - 1;
  uint64_t seen = block_cps_[block];
  for (size_t p = block * kBlockBytes; p < text_.size(); ++p) {
    if (!starts_code_point(text_[p])) continue;
    if (seen == cp_index) return p;
    ++seen;
  }
  return text_.size();
}

void MessageBuffer::truncate(size_t byte_len) {
  if (byte_len >= text_.size()) return;
  block_cps_.resize(byte_len / kBlockBytes + 1);
  const size_t block_start = (block_cps_.size() - 1) * kBlockBytes;
  code_points_ = block_cps_.back() + count_code_points(std::string_view(text_).substr(
                                         block_start, byte_len - block_start));
  text_.resize(byte_len);
}

// Adds index entries for every block boundary text_ now reaches.
void MessageBuffer::index_tail() {
  while (block_cps_.size() * kBlockBytes <= text_.size()) {
    const size_t from = (block_cps_.size() - 1) * kBlockBytes;
    block_cps_.push_back(block_cps_.back() +
                         count_code_points(std::string_view(text_).substr(from, kBlockBytes)));
  }
}

}  // namespace zproxy::guest
