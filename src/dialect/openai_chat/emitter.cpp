#include "dialect/openai_chat/emitter.h"

#include <algorithm>
#include <utility>

#include "dialect/openai_chat/writer.h"

namespace zproxy {
namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kRole = "\"role\":\"assistant\",";
// Closes a text delta's string, its delta, its choice and the chunk.
constexpr std::string_view kTextChunkEnd = "\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";

std::string_view finish_reason_json(FinishReason r) {
  switch (r) {
    case FinishReason::kStop:
      return "\"stop\"";
    case FinishReason::kLength:
      return "\"length\"";
    case FinishReason::kToolCalls:
      return "\"tool_calls\"";
    case FinishReason::kContentFilter:
      return "\"content_filter\"";
  }
  return "\"stop\"";
}

// `{"id":…,"object":…,"created":…,"model":…,"choices":[`: the part every chunk (or the one
// body) shares, built once.
std::string document_head(const EmitterOptions& o) {
  std::string h = "{\"id\":";
  append_json_string(h, o.id);
  h += o.stream ? ",\"object\":\"chat.completion.chunk\"" : ",\"object\":\"chat.completion\"";
  h += ",\"created\":";
  h += std::to_string(o.created);
  h += ",\"model\":";
  append_json_string(h, o.model);
  h += ",\"choices\":[";
  return h;
}

// Upstream sent a call without an id: derive a stable one from the completion id.
std::string synthetic_call_id(std::string_view completion_id, int index) {
  constexpr std::string_view kPrefix = "chatcmpl-";
  if (completion_id.substr(0, kPrefix.size()) == kPrefix) {
    completion_id.remove_prefix(kPrefix.size());
  }
  std::string id = "call_";
  id += completion_id;
  id += '_';
  id += std::to_string(index);
  return id;
}

void append_key_string(std::string& out, std::string_view key, std::string_view value) {
  out += '"';
  out += key;
  out += "\":";
  append_json_string(out, value);
}

}  // namespace

Emitter::Emitter(EmitterOptions options)
    : opt_(std::move(options)),
      head_(document_head(opt_)),
      // Chunk prefixes exist for streams only: a one-piece answer never writes a chunk.
      chunk_head_(opt_.stream ? "data: " + head_ + "{\"index\":0,\"delta\":{" : std::string()),
      content_open_(opt_.stream ? chunk_head_ + "\"content\":\"" : std::string()),
      reasoning_open_(opt_.stream ? chunk_head_ + "\"reasoning_content\":\"" : std::string()),
      content_stop_(opt_.stop),
      reasoning_text_(std::vector<std::string>{}) {}

// ---- deltas --------------------------------------------------------------------------------

void Emitter::on_reasoning(std::string_view text) {
  if (closed() || text.empty() || opt_.thinking == ThinkingMode::kHidden) return;
  std::string& piece = piece_;
  piece.clear();
  if (opt_.thinking == ThinkingMode::kReasoningContent) {
    reasoning_text_.feed(text, piece);
    write_reasoning(piece);
    return;
  }
  if (!in_think_tag_) {
    // The think block breaks the answer text: held content can no longer grow into a match.
    if (flush_content(piece)) return;
    piece += kThinkOpen;
    in_think_tag_ = true;
  }
  reasoning_text_.feed(text, piece);
  write_content(piece);
}

void Emitter::on_content(std::string_view text) {
  if (closed() || text.empty()) return;
  std::string& piece = piece_;
  piece.clear();
  close_reasoning(piece);
  const bool matched = content_stop_.feed(text, piece) == StopScan::kMatched;
  write_content(piece);
  if (matched) {
    finish(FinishReason::kStop);
  }
}

void Emitter::on_tool_call(const ToolCallDelta& call) {
  if (closed()) return;
  std::string piece;
  close_reasoning(piece);
  if (flush_content(piece)) return;
  write_content(piece);
  write_tool_call(call);
}

void Emitter::on_usage(const Usage& usage) {
  if (closed()) return;  // after a stop match the answer is already written
  usage_ = usage;
}

void Emitter::on_finish_reason(FinishReason reason) {
  if (closed()) return;
  finish_ = reason;
  has_finish_ = true;
}

void Emitter::on_end() {
  if (closed()) return;
  std::string piece;
  close_reasoning(piece);
  if (flush_content(piece)) return;
  write_content(piece);
  finish(end_reason());
}

void Emitter::on_failure(const UpstreamFailure& failure) {
  if (closed()) return;
  failed_ = true;
  failure_ = failure;
}

void Emitter::write_error_event(const Error& error) {
  if (!opt_.stream || complete_ || error_written_) return;
  std::string event;
  append_sse_data(event, error_json(error));
  out_ += event;
  out_ += kSseDone;
  error_written_ = true;
}

std::string Emitter::take_output() {
  return out_.take();
}

// ---- text routing --------------------------------------------------------------------------

// Ends a reasoning run: its held bytes go out, and in think_tags mode "</think>" is appended to
// the content piece that follows it.
void Emitter::close_reasoning(std::string& content_piece) {
  if (opt_.thinking == ThinkingMode::kThinkTags) {
    if (!in_think_tag_) return;
    reasoning_text_.flush(content_piece);
    content_piece += kThinkClose;
    in_think_tag_ = false;
  } else if (opt_.thinking == ThinkingMode::kReasoningContent &&
             reasoning_text_.held_size() > 0) {
    std::string rest;
    reasoning_text_.flush(rest);
    write_reasoning(rest);
  }
}

// Releases held content into `content_piece`. true: a stop string matched, and the answer has
// been finished (content_piece written, cut before the match).
bool Emitter::flush_content(std::string& content_piece) {
  if (content_stop_.flush(content_piece) != StopScan::kMatched) return false;
  write_content(content_piece);
  finish(FinishReason::kStop);
  return true;
}

void Emitter::write_content(std::string_view text) {
  if (text.empty()) return;
  if (opt_.stream) {
    write_text_chunk(content_open_, text);
  } else {
    content_ += text;
  }
}

void Emitter::write_reasoning(std::string_view text) {
  if (text.empty()) return;
  if (opt_.stream) {
    write_text_chunk(reasoning_open_, text);
  } else {
    reasoning_ += text;
  }
}

// ---- streaming chunks ----------------------------------------------------------------------

// "data: " + head + `{"index":0,"delta":{` and, in the first delta only, `"role":"assistant",`.
void Emitter::begin_delta_chunk() {
  out_ += chunk_head_;
  if (!role_sent_) {
    out_ += kRole;
    role_sent_ = true;
  }
  committed_ = true;
}

void Emitter::end_chunk(std::string_view finish_reason) {
  out_ += "},\"logprobs\":null,\"finish_reason\":";
  out_ += finish_reason;
  out_ += "}]}\n\n";
}

// `open` is content_open_ or reasoning_open_: the chunk head and the key, up to the string's
// opening quote. Few appends per chunk, as this runs for every delta.
void Emitter::write_text_chunk(const std::string& open, std::string_view text) {
  if (role_sent_) {
    out_ += open;
  } else {
    begin_delta_chunk();
    out_ += std::string_view(open).substr(chunk_head_.size());
  }
  committed_ = true;
  out_.append_json_escaped(text);
  out_ += kTextChunkEnd;
}

// The aggregate for `index`, created in index order when new.
Emitter::ToolCall& Emitter::tool_call_slot(int index, bool& is_new) {
  auto it = std::lower_bound(tool_calls_.begin(), tool_calls_.end(), index,
                             [](const ToolCall& c, int i) { return c.index < i; });
  is_new = it == tool_calls_.end() || it->index != index;
  if (is_new) it = tool_calls_.insert(it, ToolCall{index, {}, {}, {}, {}});
  return *it;
}

// Streaming: the first fragment of a call always carries id and type ("function" unless
// upstream said otherwise); later fragments carry only the keys upstream filled in.
void Emitter::write_tool_call(const ToolCallDelta& call) {
  bool is_new = false;
  ToolCall& tc = tool_call_slot(call.index, is_new);
  if (is_new) {
    tc.id = call.id.empty() ? synthetic_call_id(opt_.id, call.index) : std::string(call.id);
    tc.type = call.type.empty() ? std::string("function") : std::string(call.type);
  }
  if (tc.name.empty()) tc.name = call.name;
  if (!opt_.stream) {
    tc.arguments += call.arguments;
    return;
  }
  if (!is_new && call.id.empty() && call.type.empty() && call.name.empty() &&
      call.arguments.empty()) {
    return;
  }
  std::string delta = "\"tool_calls\":[{\"index\":";
  delta += std::to_string(call.index);
  const std::string_view id = is_new ? std::string_view(tc.id) : call.id;
  const std::string_view type = is_new ? std::string_view(tc.type) : call.type;
  if (!id.empty()) append_key_string(delta += ',', "id", id);
  if (!type.empty()) append_key_string(delta += ',', "type", type);
  delta += ",\"function\":{";
  if (!call.name.empty()) {
    append_key_string(delta, "name", call.name);
    delta += ',';
  }
  append_key_string(delta, "arguments", call.arguments);
  delta += "}}]";
  begin_delta_chunk();
  out_ += delta;
  end_chunk("null");
}

// ---- the end -------------------------------------------------------------------------------

FinishReason Emitter::end_reason() const {
  const FinishReason r = has_finish_ ? finish_ : FinishReason::kStop;
  if (r == FinishReason::kStop && !tool_calls_.empty()) return FinishReason::kToolCalls;
  return r;
}

void Emitter::finish(FinishReason reason) {
  finish_ = reason;
  has_finish_ = true;
  if (opt_.stream) {
    write_final_chunks();
  } else {
    write_body();
  }
  committed_ = true;
  complete_ = true;
}

void Emitter::write_final_chunks() {
  if (!role_sent_) write_text_chunk(content_open_, "");  // an empty answer still opens with role
  out_ += chunk_head_;
  end_chunk(finish_reason_json(finish_));
  if (opt_.include_usage) {
    out_ += "data: ";
    out_ += head_;
    out_ += "],\"usage\":";
    std::string usage;
    append_usage(usage);
    out_ += usage;
    out_ += "}\n\n";
  }
  out_ += kSseDone;
}

void Emitter::write_body() {
  std::string body = head_;
  body += "{\"index\":0,\"message\":";
  append_message(body);
  body += ",\"logprobs\":null,\"finish_reason\":";
  body += finish_reason_json(finish_);
  body += "}],\"usage\":";
  append_usage(body);
  body += '}';
  out_ += body;
}

void Emitter::append_message(std::string& out) const {
  out += "{\"role\":\"assistant\",\"content\":";
  if (content_.empty() && !tool_calls_.empty()) {
    out += "null";
  } else {
    append_json_string(out, content_);
  }
  out += ",\"refusal\":null";
  if (!reasoning_.empty()) append_key_string(out += ',', "reasoning_content", reasoning_);
  if (!tool_calls_.empty()) {
    out += ",\"tool_calls\":[";
    for (size_t i = 0; i < tool_calls_.size(); ++i) {
      const ToolCall& tc = tool_calls_[i];
      if (i > 0) out += ',';
      append_key_string(out += '{', "id", tc.id);
      append_key_string(out += ',', "type", tc.type);
      append_key_string(out += ",\"function\":{", "name", tc.name);
      append_key_string(out += ',', "arguments", tc.arguments);
      out += "}}";
    }
    out += ']';
  }
  out += '}';
}

// Zeros when upstream reported nothing; total = prompt + completion when upstream left it 0;
// the detail objects only when upstream reported them.
void Emitter::append_usage(std::string& out) const {
  const Usage& u = usage_;
  const int64_t total = u.total_tokens > 0 ? u.total_tokens : u.prompt_tokens + u.completion_tokens;
  out += "{\"prompt_tokens\":";
  out += std::to_string(u.prompt_tokens);
  out += ",\"completion_tokens\":";
  out += std::to_string(u.completion_tokens);
  out += ",\"total_tokens\":";
  out += std::to_string(total);
  if (u.cached_tokens >= 0) {
    out += ",\"prompt_tokens_details\":{\"cached_tokens\":";
    out += std::to_string(u.cached_tokens);
    out += '}';
  }
  if (u.reasoning_tokens >= 0) {
    out += ",\"completion_tokens_details\":{\"reasoning_tokens\":";
    out += std::to_string(u.reasoning_tokens);
    out += '}';
  }
  out += '}';
}

}  // namespace zproxy
