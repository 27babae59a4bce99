#pragma once
// The Anthropic Messages dialect's emitter: canonical answer events (src/core/answer.h) to a
// Message object, or to its SSE stream, in an owned buffer the engine drains
// (docs/contract.md §12.5).
//
// Streaming bytes, exactly: each event is "event: <type>\ndata: <compact JSON>\n\n".
//   message_start {message: id, type, role, model, content [], stop_reason null,
//                  stop_sequence null, usage {input_tokens E, output_tokens 0, cache_*: 0}}
//   ping
//   per block (one open at a time, index 0, 1, …; a change of kind or of tool-call index closes
//   the open one): content_block_start, content_block_delta*, content_block_stop
//     thinking: thinking_delta*, then exactly one signature_delta "zproxy-unsigned"
//     text:     text_delta* (never empty)
//     tool_use: input_json_delta with upstream's argument fragments verbatim ("{}" once when
//               upstream sent none)
//   message_delta {delta {stop_reason, stop_sequence}, usage {…}}, message_stop.
// message_start and the ping go out at the commit point: the first block, or a keep-alive.
// Later keep-alives are `ping` events. After a failure once committed: one `error` event and
// nothing else.
//
// Non-streaming: the Message object, blocks in upstream order; tool input is the parsed
// arguments, which must be a JSON object (else on_end fails with kUpstreamBadResponse).
//
// stop_reason: kStop -> end_turn (stop_sequence with the string when one matched), kToolCalls ->
// tool_use, kLength -> max_tokens, kContentFilter -> refusal. Usage: input_tokens = prompt -
// cached, cache_read_input_tokens = cached, output_tokens = completion; when upstream reported
// none, the request's estimate and ⌈output characters / 3⌉.
// Tool ids: upstream's when it matches ^[A-Za-z0-9_-]{1,64}$, else "toolu_" + 24 alnum.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/answer.h"
#include "core/ids.h"
#include "dialect/openai_chat/writer.h"

namespace zproxy {

inline constexpr std::string_view kThinkingSignature = "zproxy-unsigned";

struct MessagesEmitterOptions {
  std::string id;          // "msg_" + 24 alnum
  std::string model;       // the name the client sent
  std::string request_id;  // for error events
  bool stream = false;
  bool thinking_text = true;   // false: display "omitted", thinking blocks carry no text
  int64_t input_estimate = 0;  // the request's count_tokens estimate (contract.md §12.7)
  uint64_t id_seed = 0;        // for tool ids upstream did not give
  // Tool names shortened for upstream (core/tool_names.h) and the client's originals.
  std::vector<std::pair<std::string, std::string>> tool_names;
};

// {"type":"error","error":{"type":T,"message":M},"request_id":ID}, and its HTTP status
// (docs/contract.md §12.6; upstream overload is 529 overloaded_error).
std::string messages_error_json(const Error& error, std::string_view request_id);
int messages_error_status(const Error& error);

class MessagesEmitter final : public AnswerEmitter {
 public:
  explicit MessagesEmitter(MessagesEmitterOptions options);

  void on_reasoning(std::string_view text) override;
  void on_text(std::string_view text) override;
  void on_tool_call(const ToolCallDelta& call) override;
  Status on_end(const AnswerEnd& end) override;
  void write_keepalive() override;
  void write_error_event(const Error& error) override;
  bool committed() const override { return committed_; }
  std::string take_output() override;

 private:
  enum class Kind : uint8_t { kNone, kThinking, kText, kToolUse };
  struct Block {
    Kind kind = Kind::kNone;
    std::string text;  // thinking or text; tool_use: the arguments
    std::string id;    // tool_use
    std::string name;  // tool_use
  };

  void start_message();
  void open_block(Kind kind, const ToolCallDelta* call);
  void close_block();
  void event(std::string_view type, std::string_view json);
  void write_delta(std::string_view delta_type, std::string_view key, std::string_view text);
  std::string tool_id(std::string_view upstream_id);
  std::string client_tool_name(std::string_view upstream_name) const;
  std::string usage_json(const Usage& u) const;
  Status write_body(const AnswerEnd& end);

  MessagesEmitterOptions opt_;
  IdSource ids_;
  OutputBuffer out_;
  std::vector<Block> blocks_;  // non-streaming: every block; streaming: the open one at most
  Kind open_ = Kind::kNone;
  int index_ = -1;       // index of the open (or last) block
  int tool_index_ = -1;  // upstream tool-call index of the open tool_use block
  bool tool_args_sent_ = false;
  int64_t output_chars_ = 0;
  bool started_ = false;
  bool committed_ = false;
  bool ended_ = false;
};

}  // namespace zproxy
