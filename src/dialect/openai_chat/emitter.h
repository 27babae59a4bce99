#pragma once
// The chat dialect's emitter: canonical answer events (src/core/answer.h) to OpenAI bytes in an
// owned buffer the engine drains. Streaming writes `chat.completion.chunk` events,
// non-streaming aggregates into one `chat.completion` body written when the answer ends.
//
// Streaming bytes, exactly (docs/contract.md §5.7): every event is "data: <json>\n\n"; chunks
// share id/created/model; every choice has "finish_reason" (null until the last choice chunk);
// the first delta carries "role":"assistant"; then one chunk with an empty delta and the
// finish_reason; then, only when include_usage, one chunk with "choices":[] and "usage"; then
// "data: [DONE]\n\n". Chunks other than the usage chunk carry no "usage" key.
//
// Stop strings, thinking modes and the finish reason are applied before the events get here
// (src/engine/answer_rules.h): this emitter writes what it receives. Text never splits a UTF-8
// code point across chunks; bytes that are not UTF-8 are written as U+FFFD.
//
// Usage: zeros when upstream sent none; total_tokens = prompt +
// completion when upstream left it 0; the *_details objects only when reported. An empty
// streamed answer still opens with {"role":"assistant","content":""}. A tool call without an id
// gets "call_<completion id without chatcmpl->_<index>"; its first chunk always has id and type.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/answer.h"
#include "dialect/openai_chat/writer.h"

namespace zproxy {

struct ChatEmitterOptions {
  std::string id;       // "chatcmpl-…"
  int64_t created = 0;  // Unix seconds
  std::string model;    // the public name the client sent
  bool stream = false;
  bool include_usage = false;
};

class ChatEmitter final : public AnswerEmitter {
 public:
  explicit ChatEmitter(ChatEmitterOptions options);

  void on_reasoning(std::string_view text) override;
  void on_text(std::string_view text) override;
  void on_tool_call(const ToolCallDelta& call) override;
  // Kept for the end: message.annotations, or one annotations delta before the finish chunk.
  void on_citations(std::span<const Citation> citations) override;
  Status on_end(const AnswerEnd& end) override;
  // ": keep-alive" comment.
  void write_keepalive() override;
  // `data: {"error":{…}}` and [DONE].
  void write_error_event(const Error& error) override;
  bool committed() const override { return committed_; }
  std::string take_output() override;

 private:
  // One tool call as aggregated from its fragments (arguments only when not streaming).
  struct ToolCall {
    int index = 0;
    std::string id;
    std::string type;
    std::string name;
    std::string arguments;
  };

  void write_content(std::string_view text);
  void write_reasoning(std::string_view text);
  void write_text_chunk(const std::string& open, std::string_view text);
  void begin_delta_chunk();
  void end_chunk(std::string_view finish_reason_json);
  void write_tool_call(const ToolCallDelta& call);
  ToolCall& tool_call_slot(int index, bool& is_new);
  void write_final_chunks(const AnswerEnd& end);
  void write_body(const AnswerEnd& end);
  void append_message(std::string& out) const;
  std::string annotations_json() const;
  static void append_usage(std::string& out, const Usage& u);

  ChatEmitterOptions opt_;
  std::string head_;  // `{"id":…,"object":…,"created":…,"model":…,"choices":[` of every document
  std::string chunk_head_;      // "data: " + head_ + `{"index":0,"delta":{`
  std::string content_open_;    // chunk_head_ + `"content":"`
  std::string reasoning_open_;  // chunk_head_ + `"reasoning_content":"`
  OutputBuffer out_;
  std::string content_;               // non-streaming: aggregated content (think tags included)
  std::string reasoning_;             // non-streaming: aggregated reasoning_content
  std::vector<ToolCall> tool_calls_;  // ordered by index
  std::string annotations_;           // url_citation objects, comma-separated
  int64_t content_chars_ = 0;         // code points of content so far (citations' end_index)
  bool role_sent_ = false;
  bool committed_ = false;
  bool ended_ = false;  // the answer or an error event is written
};

}  // namespace zproxy
