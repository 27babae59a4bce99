#include "upstream/guest/reasoning_splitter.h"

#include <algorithm>

namespace zproxy::guest {
namespace {

bool in_reasoning(ScanMode mode) {
  return mode != ScanMode::kContent && mode != ScanMode::kIsland;
}

}  // namespace

ReasoningSplitter::ReasoningSplitter() : checkpoints_{Checkpoint{}} {}

void ReasoningSplitter::invalidate_from(size_t offset) {
  if (offset >= examined_) return;  // no decision so far looked at the changed bytes
  while (checkpoints_.back().examined > offset) checkpoints_.pop_back();
  const Checkpoint& c = checkpoints_.back();
  pos_ = c.pos;
  examined_ = c.examined;
  state_ = c.state;
  reasoning_.rewind(c.reasoning_len);
  content_.rewind(c.content_len);
}

void ReasoningSplitter::render(std::string_view m, DeltaSink& sink) {
  for (;;) {
    const ScanStep step = scan_step(m, pos_, state_);
    if (step.need_more) break;
    apply(m, step, sink);
  }
  flush(last_channel_, sink);
  // Text sent before an edit that was not rendered again before the scan left that channel's
  // kind of block will not come back as such: later text of the channel is new.
  const ScanMode mode = state_.mode == ScanMode::kIsland ? state_.island_return : state_.mode;
  if (in_reasoning(mode)) {
    content_.forget_resend();
  } else {
    reasoning_.forget_resend();
  }
}

void ReasoningSplitter::finish(std::string_view m, DeltaSink& sink) {
  render(m, sink);
  if (pos_ < m.size()) apply(m, scan_tail(m, pos_, state_), sink);
  flush(last_channel_, sink);
}

void ReasoningSplitter::apply(std::string_view m, const ScanStep& step, DeltaSink& sink) {
  examined_ = std::max(examined_, step.examined_end);
  if (step.out_len > 0) {
    if (step.channel != last_channel_) flush(last_channel_, sink);
    last_channel_ = step.channel;
    text(step.channel).append(m.substr(step.out_begin, step.out_len));
  }
  pos_ += step.consumed;
  if (pos_ - checkpoints_.back().pos >= kCheckpointBytes) {
    checkpoints_.push_back(Checkpoint{pos_, examined_, state_, reasoning_.size(), content_.size()});
  }
}

void ReasoningSplitter::flush(Channel channel, DeltaSink& sink) {
  const std::string_view fresh = text(channel).take();
  if (fresh.empty()) return;
  if (channel == Channel::kReasoning) {
    sink.on_reasoning(fresh);
  } else {
    sink.on_content(fresh);
  }
}

EmittedText& ReasoningSplitter::text(Channel channel) {
  return channel == Channel::kReasoning ? reasoning_ : content_;
}

}  // namespace zproxy::guest
