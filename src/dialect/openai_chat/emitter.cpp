#include "dialect/openai_chat/emitter.h"

#include <algorithm>
#include <utility>

#include "dialect/openai_chat/writer.h"

namespace zproxy {
namespace {

constexpr std::string_view kRole = "\"role\":\"assistant\",";
// Closes a text delta's string, its delta, its choice and the chunk.
constexpr std::string_view kTextChunkEnd = "\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";

std::string_view finish_reason_json(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "\"stop\"";
    case FinishReason::kLength: return "\"length\"";
    case FinishReason::kToolCalls: return "\"tool_calls\"";
    case FinishReason::kContentFilter: return "\"content_filter\"";
  }
  return "\"stop\"";
}

// `{"id":…,"object":…,"created":…,"model":…,"choices":[`: the part every chunk (or the one
// body) shares, built once.
std::string document_head(const ChatEmitterOptions& o) {
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

ChatEmitter::ChatEmitter(ChatEmitterOptions options)
    : opt_(std::move(options)),
      head_(document_head(opt_)),
      // Chunk prefixes exist for streams only: a one-piece answer never writes a chunk.
      chunk_head_(opt_.stream ? "data: " + head_ + "{\"index\":0,\"delta\":{" : std::string()),
      content_open_(opt_.stream ? chunk_head_ + "\"content\":\"" : std::string()),
      reasoning_open_(opt_.stream ? chunk_head_ + "\"reasoning_content\":\"" : std::string()) {}

// ---- events --------------------------------------------------------------------------------

void ChatEmitter::on_reasoning(std::string_view text) {
  write_reasoning(text);
}

void ChatEmitter::on_text(std::string_view text) {
  for (char c : text) content_chars_ += (c & 0xC0) != 0x80;
  write_content(text);
}

void ChatEmitter::on_citations(std::span<const Citation> citations) {
  for (const Citation& c : citations) {
    if (!annotations_.empty()) annotations_ += ',';
    annotations_ += "{\"type\":\"url_citation\",\"url_citation\":{\"end_index\":@END@,";
    annotations_ += "\"start_index\":0,\"title\":";
    append_json_string(annotations_, c.title);
    annotations_ += ",\"url\":";
    append_json_string(annotations_, c.url);
    annotations_ += "}}";
  }
}

// The citations, each spanning the answer's text (upstream does not say which part rests on
// which page).
std::string ChatEmitter::annotations_json() const {
  std::string out = "[" + annotations_ + "]";
  const std::string end = std::to_string(content_chars_);
  for (size_t at = 0; (at = out.find("@END@", at)) != std::string::npos;) {
    out.replace(at, 5, end);
    at += end.size();
  }
  return out;
}

void ChatEmitter::on_tool_call(const ToolCallDelta& call) {
  write_tool_call(call);
}

Status ChatEmitter::on_end(const AnswerEnd& end) {
  if (opt_.stream) {
    write_final_chunks(end);
  } else {
    write_body(end);
  }
  committed_ = true;
  ended_ = true;
  return ok_status();
}

void ChatEmitter::write_keepalive() {
  out_ += kSseKeepAlive;
  committed_ = true;
}

void ChatEmitter::write_error_event(const Error& error) {
  if (!opt_.stream || ended_) return;
  std::string event;
  append_sse_data(event, error_json(error));
  out_ += event;
  out_ += kSseDone;
  ended_ = true;
}

std::string ChatEmitter::take_output() {
  return out_.take();
}

// ---- text ----------------------------------------------------------------------------------

void ChatEmitter::write_content(std::string_view text) {
  if (text.empty()) return;
  if (opt_.stream) {
    write_text_chunk(content_open_, text);
  } else {
    content_ += text;
  }
}

void ChatEmitter::write_reasoning(std::string_view text) {
  if (text.empty()) return;
  if (opt_.stream) {
    write_text_chunk(reasoning_open_, text);
  } else {
    reasoning_ += text;
  }
}

// ---- streaming chunks ----------------------------------------------------------------------

// "data: " + head + `{"index":0,"delta":{` and, in the first delta only, `"role":"assistant",`.
void ChatEmitter::begin_delta_chunk() {
  out_ += chunk_head_;
  if (!role_sent_) {
    out_ += kRole;
    role_sent_ = true;
  }
  committed_ = true;
}

void ChatEmitter::end_chunk(std::string_view finish_reason) {
  out_ += "},\"logprobs\":null,\"finish_reason\":";
  out_ += finish_reason;
  out_ += "}]}\n\n";
}

// `open` is content_open_ or reasoning_open_: the chunk head and the key, up to the string's
// opening quote. Few appends per chunk, as this runs for every delta.
void ChatEmitter::write_text_chunk(const std::string& open, std::string_view text) {
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
ChatEmitter::ToolCall& ChatEmitter::tool_call_slot(int index, bool& is_new) {
  auto it = std::lower_bound(tool_calls_.begin(), tool_calls_.end(), index,
                             [](const ToolCall& c, int i) { return c.index < i; });
  is_new = it == tool_calls_.end() || it->index != index;
  if (is_new) it = tool_calls_.insert(it, ToolCall{index, {}, {}, {}, {}});
  return *it;
}

// Streaming: the first fragment of a call always carries id and type ("function" unless
// upstream said otherwise); later fragments carry only the keys upstream filled in.
void ChatEmitter::write_tool_call(const ToolCallDelta& call) {
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

void ChatEmitter::write_final_chunks(const AnswerEnd& end) {
  if (!role_sent_) write_text_chunk(content_open_, "");  // an empty answer still opens with role
  if (!annotations_.empty()) {
    out_ += chunk_head_;
    out_ += "\"annotations\":";
    out_ += annotations_json();
    end_chunk("null");
  }
  out_ += chunk_head_;
  end_chunk(finish_reason_json(end.reason));
  if (opt_.include_usage) {
    out_ += "data: ";
    out_ += head_;
    out_ += "],\"usage\":";
    std::string usage;
    append_usage(usage, end.usage);
    out_ += usage;
    out_ += "}\n\n";
  }
  out_ += kSseDone;
}

void ChatEmitter::write_body(const AnswerEnd& end) {
  std::string body = head_;
  body += "{\"index\":0,\"message\":";
  append_message(body);
  body += ",\"logprobs\":null,\"finish_reason\":";
  body += finish_reason_json(end.reason);
  body += "}],\"usage\":";
  append_usage(body, end.usage);
  body += '}';
  out_ += body;
}

void ChatEmitter::append_message(std::string& out) const {
  out += "{\"role\":\"assistant\",\"content\":";
  if (content_.empty() && !tool_calls_.empty()) {
    out += "null";
  } else {
    append_json_string(out, content_);
  }
  out += ",\"refusal\":null";
  if (!reasoning_.empty()) append_key_string(out += ',', "reasoning_content", reasoning_);
  if (!annotations_.empty()) out += ",\"annotations\":" + annotations_json();
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
void ChatEmitter::append_usage(std::string& out, const Usage& u) {
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
