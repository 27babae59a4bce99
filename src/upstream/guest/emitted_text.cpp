#include "upstream/guest/emitted_text.h"

#include <algorithm>

namespace zproxy::guest {

std::string_view EmittedText::take() {
  std::string_view fresh = std::string_view(text_).substr(taken_);
  taken_ = text_.size();
  if (!awaiting_resend()) return fresh;
  const std::string_view pending = std::string_view(resend_).substr(resend_pos_);
  const size_t n = std::min(fresh.size(), pending.size());
  const size_t same = static_cast<size_t>(
      std::mismatch(fresh.begin(), fresh.begin() + static_cast<std::ptrdiff_t>(n), pending.begin())
          .first -
      fresh.begin());
  if (same == fresh.size()) {  // all of it was sent before
    resend_pos_ += same;
    if (!awaiting_resend()) forget_resend();
    return {};
  }
  forget_resend();
  if (same == pending.size()) return fresh.substr(same);  // the sent text, then new text
  return {};  // diverged from what was sent: resume after this rendering
}

void EmittedText::rewind(size_t len) {
  if (len >= text_.size()) return;
  std::string resend = text_.substr(len);
  resend.append(resend_, resend_pos_);
  resend_ = std::move(resend);
  resend_pos_ = 0;
  text_.resize(len);
  taken_ = len;
}

}  // namespace zproxy::guest
