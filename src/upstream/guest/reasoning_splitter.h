#pragma once
// Splits the message buffer M into reasoning and content deltas, incrementally (grammar in
// markup_scanner.h). Each render() continues from where the previous one stopped, so appends
// cost time linear in the appended bytes. An edit that rewrites bytes an earlier decision
// depended on rewinds to the last checkpoint before them (one every kCheckpointBytes of M) and
// renders again from there; text the client already has is not sent twice (emitted_text.h).
// If a render ends outside a channel's kind of block (content vs. reasoning) while text sent
// before the edit has not been rendered again, the edit removed it: later text of that channel
// is new and is sent.
//
// Deltas are delivered in the order of M: reasoning and content of several thinking rounds
// interleave as they appear. A tail whose meaning depends on bytes not yet received (a partial
// tag, a "\n" before a possible "</details>", a line-start ">") is held until decided, or
// until finish().

#include <cstddef>
#include <string_view>
#include <vector>

#include "core/upstream.h"
#include "upstream/guest/emitted_text.h"
#include "upstream/guest/markup_scanner.h"

namespace zproxy::guest {

class ReasoningSplitter {
 public:
  ReasoningSplitter();

  // M changed from byte `offset` on (offset >= the old size: only appended).
  void invalidate_from(size_t offset);
  // Renders M as far as it is decided; new text goes to sink.on_reasoning / on_content.
  void render(std::string_view m, DeltaSink& sink);
  // The answer ended: renders M to its end, held tail included.
  void finish(std::string_view m, DeltaSink& sink);

 private:
  static constexpr size_t kCheckpointBytes = 4096;
  struct Checkpoint {
    size_t pos = 0;
    size_t examined = 0;  // the state at `pos` depends on M[0, examined) only
    ScanState state;
    size_t reasoning_len = 0;
    size_t content_len = 0;
  };

  void apply(std::string_view m, const ScanStep& step, DeltaSink& sink);
  void flush(Channel channel, DeltaSink& sink);
  EmittedText& text(Channel channel);

  size_t pos_ = 0;
  size_t examined_ = 0;
  ScanState state_;
  Channel last_channel_ = Channel::kContent;
  EmittedText reasoning_;
  EmittedText content_;
  std::vector<Checkpoint> checkpoints_;  // increasing pos; [0] is the start of M
};

}  // namespace zproxy::guest
