#pragma once
// One output channel (reasoning or content) as rendered from the message buffer, and how much
// of it the client already has.
//
// Edits make upstream re-send text: the closing edit of a thinking block rewrites the whole
// block. After rewind() the channel remembers the text it had sent past the rewind point; when
// that text is rendered again it is recognised and not sent twice, and whatever follows it is
// sent. If the re-rendered text differs from what was sent (upstream changed text the client
// already has), nothing can be taken back: nothing rendered up to that take() is sent, and
// sending resumes with the text rendered after it. The client then keeps the old wording.

#include <cstddef>
#include <string>
#include <string_view>

namespace zproxy::guest {

class EmittedText {
 public:
  void append(std::string_view text) { text_.append(text); }

  // The text appended since the last take() that the client does not have yet. Valid until
  // the next call.
  std::string_view take();

  // Rendering restarts at byte `len` (<= size()). Precondition: everything was taken.
  void rewind(size_t len);

  // The text sent before a rewind will not be rendered again: stop waiting for it.
  void forget_resend() { resend_.clear(), resend_pos_ = 0; }
  bool awaiting_resend() const { return resend_pos_ < resend_.size(); }

  size_t size() const { return text_.size(); }

 private:
  std::string text_;  // the channel's rendering of M[0, scan position)
  size_t taken_ = 0;
  std::string resend_;  // sent earlier, past the rewind point, not yet rendered again
  size_t resend_pos_ = 0;
};

}  // namespace zproxy::guest
