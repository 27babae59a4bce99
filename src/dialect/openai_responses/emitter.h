#pragma once
// The Responses dialect's emitter: canonical answer events (src/core/answer.h) to a Response
// object, or to its event stream (docs/contract.md §13.3, §13.4), in an owned buffer the
// engine drains.
//
// Streaming, exactly: each event is "event: <type>\ndata: <compact JSON>\n\n" with data.type the
// event's name and sequence_number 0, 1, 2, … without gaps; no [DONE].
//   at the commit point: response.created, response.in_progress (status in_progress, output [],
//     usage null)
//   per item, in upstream order, one open at a time (output_index 0, 1, …):
//     reasoning: output_item.added, content_part.added (reasoning_text) or
//       reasoning_summary_part.added (summary_text), the deltas, the matching .done pair,
//       output_item.done
//     message: output_item.added, content_part.added (output_text), output_text.delta*,
//       output_text.done, content_part.done, output_item.done
//     function_call: output_item.added (arguments ""), function_call_arguments.delta per
//       upstream fragment, function_call_arguments.done, output_item.done
//     custom_tool_call: output_item.added (input ""), then at the call's end
//       custom_tool_call_input.delta (the whole input), custom_tool_call_input.done,
//       output_item.done
//   the end: response.completed (stop, tool calls), or the open item's .done events marked
//     incomplete and response.incomplete (length: max_output_tokens; content filter:
//     content_filter); after a failure once committed: response.failed with the error's code,
//     the items so far (the cut one incomplete, without .done events), and nothing else.
// Keep-alives after the commit point are ": keep-alive" comments.
//
// Non-streaming: the Response object when the answer ends (completed or incomplete).

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/answer.h"
#include "core/ids.h"
#include "dialect/openai_chat/writer.h"
#include "dialect/openai_responses/responses_request.h"

namespace zproxy {

struct ResponsesEmitterOptions {
  std::string id;  // "resp_" + 32 hex digits
  std::string model;
  int64_t created_at = 0;            // Unix seconds
  const int64_t* wall_ms = nullptr;  // the current wall time, read for completed_at
  bool stream = false;
  bool reasoning_summary = false;    // reasoning text in summary[] (else content[])
  bool encrypted_reasoning = false;  // reasoning items carry "encrypted_content":null
  std::string echo;                  // ResponsesRequest::echo
  std::vector<ResponsesTool> tools;  // how each upstream tool name comes back
  uint64_t id_seed = 0;              // item ids and missing call ids
};

class ResponsesEmitter final : public AnswerEmitter {
 public:
  explicit ResponsesEmitter(ResponsesEmitterOptions options);

  void on_reasoning(std::string_view text) override;
  void on_text(std::string_view text) override;
  void on_tool_call(const ToolCallDelta& call) override;
  // url_citation annotations of the answer's message (the open one, else the next).
  void on_citations(std::span<const Citation> citations) override;
  Status on_end(const AnswerEnd& end) override;
  void write_keepalive() override;
  void write_error_event(const Error& error) override;
  bool committed() const override { return committed_; }
  std::string take_output() override;

 private:
  enum class Kind : uint8_t { kReasoning, kMessage, kFunctionCall, kCustomToolCall };
  struct Item {
    Kind kind = Kind::kMessage;
    std::string id;
    bool done = false;        // its .done events were written (or, not streaming, it ended)
    bool incomplete = false;  // ended by length, a filter or a failure
    std::string text;         // reasoning or message text; a call's arguments
    std::string call_id;
    std::string name;
    std::string ns;
    int tool_index = -1;                   // upstream's tool-call index
    std::vector<std::string> annotations;  // message: url_citation objects without end_index
    std::string body;                      // streaming: text escaped, without the quotes
    size_t body_size = 0;                  // the text's size body covers
    mutable std::string escaped;           // text as a JSON string (escaped()), when computed
    mutable size_t escaped_size = 0;       // the text's size it was computed for
  };

  void start();
  void open_item(Kind kind, const ToolCallDelta* call);
  void close_item(bool incomplete);
  void event(std::string_view type, const std::string& fields);
  void event(std::string_view type, std::initializer_list<std::string_view> fields);
  void text_delta(std::string_view type, std::string_view index_key, std::string_view text,
                  std::string_view tail);
  std::string hex_id(std::string_view prefix);
  std::string custom_input(const Item& item) const;
  void append_item(std::string& out, const Item& item, bool added) const;
  void append_response(std::string& out, std::string_view status, std::string_view extra) const;
  void append_usage(std::string& out) const;
  std::string item_ref(const Item& item) const;
  const std::string& escaped(const Item& item) const;
  std::string_view escape_more(Item& item, std::string_view text);
  std::string annotation_json(const Item& item, size_t i) const;
  std::string annotations_json(const Item& item) const;

  ResponsesEmitterOptions opt_;
  IdSource ids_;
  OutputBuffer out_;
  std::vector<Item> items_;
  std::vector<std::string> pending_annotations_;  // citations before the message opened
  bool open_ = false;                             // items_.back() is open
  std::string open_ref_;  // its "output_index":N,"item_id":"…" (every event of it carries them)
  int64_t sequence_ = 0;
  Usage usage_;
  std::string status_ = "in_progress";
  std::string incomplete_reason_;  // incomplete_details.reason
  std::string error_json_;         // the failed response's error object
  int64_t completed_at_ = -1;
  bool started_ = false;
  bool committed_ = false;
  bool ended_ = false;
};

}  // namespace zproxy
