#include "dialect/openai_responses/emitter.h"

#include <charconv>
#include <utility>

#include "core/tool_names.h"
#include "dialect/openai_responses/custom_input.h"

namespace zproxy {
namespace {

std::span<const uint8_t> seed_bytes(const uint64_t& seed) {
  return {reinterpret_cast<const uint8_t*>(&seed), sizeof seed};
}

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

}  // namespace

ResponsesEmitter::ResponsesEmitter(ResponsesEmitterOptions options)
    : opt_(std::move(options)), ids_(seed_bytes(opt_.id_seed)) {}

std::string ResponsesEmitter::hex_id(std::string_view prefix) {
  return std::string(prefix) + ids_.hex(2);
}

// ---- events --------------------------------------------------------------------------------

void ResponsesEmitter::event(std::string_view type, const std::string& fields) {
  event(type, {std::string_view(fields)});
}

// The fields in pieces, written straight into the output: the events that end an item repeat
// its whole text, which is not copied into temporaries on the way.
void ResponsesEmitter::event(std::string_view type,
                             std::initializer_list<std::string_view> fields) {
  out_ += "event: ";
  out_ += type;
  out_ += "\ndata: {\"type\":\"";
  out_ += type;
  out_ += "\",\"sequence_number\":";
  out_ += std::to_string(sequence_++);
  bool first = true;
  for (std::string_view f : fields) {
    if (f.empty()) continue;
    if (first) out_ += ',';
    first = false;
    out_ += f;
  }
  out_ += "}\n\n";
}

void ResponsesEmitter::start() {
  if (started_) return;
  started_ = true;
  if (!opt_.stream) return;
  committed_ = true;
  std::string r = "\"response\":";
  append_response(r, "in_progress", {});
  event("response.created", r);
  event("response.in_progress", r);
}

// An item's text as a JSON string, escaped once however many events and objects repeat it
// (four at the end of a stream: .done, content_part.done, output_item.done, the response).
const std::string& ResponsesEmitter::escaped(const Item& item) const {
  if (item.escaped_size != item.text.size() || item.escaped.empty()) {
    item.escaped.clear();
    if (item.body_size == item.text.size()) {
      // The stream's deltas escaped it piece by piece already.
      item.escaped.reserve(item.body.size() + 2);
      item.escaped += '"';
      item.escaped += item.body;
      item.escaped += '"';
    } else {
      append_json_string(item.escaped, item.text);
    }
    item.escaped_size = item.text.size();
  }
  return item.escaped;
}

// Streaming: `text` (just appended to item.text) escaped onto the item's escaped body, which
// the delta event copies and the item's closing events reuse whole.
std::string_view ResponsesEmitter::escape_more(Item& item, std::string_view text) {
  const size_t at = item.body.size();
  append_json_escaped(item.body, text);
  item.body_size = item.text.size();
  return std::string_view(item.body).substr(at);
}

std::string ResponsesEmitter::item_ref(const Item& item) const {
  return "\"output_index\":" + std::to_string(items_.size() - 1) +
         ",\"item_id\":" + json_string(item.id);
}

void ResponsesEmitter::open_item(Kind kind, const ToolCallDelta* call) {
  start();
  if (open_) close_item(false);
  Item item;
  item.kind = kind;
  switch (kind) {
    case Kind::kReasoning: item.id = hex_id("rs_"); break;
    case Kind::kMessage:
      item.id = hex_id("msg_");
      item.annotations = std::move(pending_annotations_);
      pending_annotations_.clear();
      break;
    case Kind::kFunctionCall:
    case Kind::kCustomToolCall: {
      item.tool_index = call->index;
      item.call_id = call->id.empty() ? ids_.alnum("call_", 24) : std::string(call->id);
      std::string upstream_name(call->name);
      item.name = upstream_name;
      for (const ResponsesTool& t : opt_.tools) {
        if (upstream_tool_name(t.upstream_name) == upstream_name ||
            t.upstream_name == upstream_name) {
          item.name = t.name;
          item.ns = t.ns;
          if (t.kind == ResponsesTool::Kind::kCustom) kind = Kind::kCustomToolCall;
          break;
        }
      }
      item.kind = kind;
      item.id = hex_id(kind == Kind::kCustomToolCall ? "ctc_" : "fc_");
      break;
    }
  }
  items_.push_back(std::move(item));
  open_ = true;
  open_ref_ = item_ref(items_.back());
  if (!opt_.stream) return;
  const Item& it = items_.back();
  std::string added = "\"output_index\":" + std::to_string(items_.size() - 1) + ",\"item\":";
  append_item(added, it, true);
  event("response.output_item.added", added);
  const std::string ref = item_ref(it);
  if (it.kind == Kind::kReasoning) {
    if (opt_.reasoning_summary) {
      event("response.reasoning_summary_part.added",
            ref + ",\"summary_index\":0,\"part\":{\"type\":\"summary_text\",\"text\":\"\"}");
    } else {
      event("response.content_part.added",
            ref + ",\"content_index\":0,\"part\":{\"type\":\"reasoning_text\",\"text\":\"\"}");
    }
  } else if (it.kind == Kind::kMessage) {
    event("response.content_part.added",
          ref +
              ",\"content_index\":0,\"part\":{\"type\":\"output_text\",\"annotations\":[],"
              "\"logprobs\":[],\"text\":\"\"}");
  }
}

void ResponsesEmitter::close_item(bool incomplete) {
  if (!open_) return;
  open_ = false;
  Item& it = items_.back();
  it.done = true;
  it.incomplete = incomplete;
  if (!opt_.stream) return;
  const std::string ref = item_ref(it);
  const std::string& text = escaped(it);
  switch (it.kind) {
    case Kind::kReasoning:
      if (opt_.reasoning_summary) {
        event("response.reasoning_summary_text.done",
              {ref, ",\"summary_index\":0,\"text\":", text});
        event(
            "response.reasoning_summary_part.done",
            {ref, ",\"summary_index\":0,\"part\":{\"type\":\"summary_text\",\"text\":", text, "}"});
      } else {
        event("response.reasoning_text.done", {ref, ",\"content_index\":0,\"text\":", text});
        event("response.content_part.done",
              {ref, ",\"content_index\":0,\"part\":{\"type\":\"reasoning_text\",\"text\":", text,
               "}"});
      }
      break;
    case Kind::kMessage:
      for (size_t i = 0; i < it.annotations.size(); ++i) {
        event("response.output_text.annotation.added",
              ref + ",\"content_index\":0,\"annotation_index\":" + std::to_string(i) +
                  ",\"annotation\":" + annotation_json(it, i));
      }
      event("response.output_text.done",
            {ref, ",\"content_index\":0,\"text\":", text, ",\"logprobs\":[]"});
      event("response.content_part.done",
            {ref, ",\"content_index\":0,\"part\":{\"type\":\"output_text\",\"annotations\":",
             annotations_json(it), ",\"logprobs\":[],\"text\":", text, "}"});
      break;
    case Kind::kFunctionCall:
      event("response.function_call_arguments.done",
            ref + ",\"name\":" + json_string(it.name) + ",\"arguments\":" + text);
      break;
    case Kind::kCustomToolCall: {
      const std::string input = json_string(custom_input(it));
      if (input != "\"\"")
        event("response.custom_tool_call_input.delta", ref + ",\"delta\":" + input);
      event("response.custom_tool_call_input.done", ref + ",\"input\":" + input);
      break;
    }
  }
  std::string done = "\"output_index\":" + std::to_string(items_.size() - 1) + ",\"item\":";
  append_item(done, it, false);
  event("response.output_item.done", done);
}

// A text delta event, written straight into the output (the events a stream is mostly made
// of): `type` the event, `tail` what follows the escaped text inside the object.
void ResponsesEmitter::text_delta(std::string_view type, std::string_view index_key,
                                  std::string_view text, std::string_view tail) {
  char seq[24];
  const auto [end, ec] = std::to_chars(seq, seq + sizeof seq, sequence_++);
  (void)ec;
  out_ += "event: ";
  out_ += type;
  out_ += "\ndata: {\"type\":\"";
  out_ += type;
  out_ += "\",\"sequence_number\":";
  out_ += std::string_view(seq, static_cast<size_t>(end - seq));
  out_ += ',';
  out_ += open_ref_;
  out_ += index_key;
  out_ += "\"delta\":\"";
  out_ += text;  // already escaped
  out_ += '"';
  out_ += tail;
  out_ += "}\n\n";
}

void ResponsesEmitter::on_reasoning(std::string_view text) {
  if (ended_) return;
  if (!open_ || items_.back().kind != Kind::kReasoning) open_item(Kind::kReasoning, nullptr);
  Item& it = items_.back();
  it.text += text;
  if (!opt_.stream) return;
  const std::string_view piece = escape_more(it, text);
  if (opt_.reasoning_summary) {
    text_delta("response.reasoning_summary_text.delta", ",\"summary_index\":0,", piece, {});
  } else {
    text_delta("response.reasoning_text.delta", ",\"content_index\":0,", piece, {});
  }
}

void ResponsesEmitter::on_text(std::string_view text) {
  if (ended_) return;
  if (!open_ || items_.back().kind != Kind::kMessage) open_item(Kind::kMessage, nullptr);
  Item& it = items_.back();
  it.text += text;
  if (!opt_.stream) return;
  text_delta("response.output_text.delta", ",\"content_index\":0,", escape_more(it, text),
             ",\"logprobs\":[]");
}

void ResponsesEmitter::on_citations(std::span<const Citation> citations) {
  if (ended_) return;
  std::vector<std::string>& into = open_ && items_.back().kind == Kind::kMessage
                                       ? items_.back().annotations
                                       : pending_annotations_;
  for (const Citation& c : citations) {
    std::string a = ",\"title\":";
    append_json_string(a, c.title);
    a += ",\"url\":";
    append_json_string(a, c.url);
    into.push_back(std::move(a));
  }
}

// {"type":"url_citation","start_index":0,"end_index":<the text's length>,"title","url"}: upstream
// does not say which part of the answer rests on which page.
std::string ResponsesEmitter::annotation_json(const Item& item, size_t i) const {
  int64_t chars = 0;
  for (char c : item.text) chars += (c & 0xC0) != 0x80;
  return "{\"type\":\"url_citation\",\"start_index\":0,\"end_index\":" + std::to_string(chars) +
         item.annotations[i] + "}";
}

std::string ResponsesEmitter::annotations_json(const Item& item) const {
  std::string out = "[";
  for (size_t i = 0; i < item.annotations.size(); ++i) {
    if (i > 0) out += ',';
    out += annotation_json(item, i);
  }
  return out + "]";
}

void ResponsesEmitter::on_tool_call(const ToolCallDelta& call) {
  if (ended_) return;
  const bool same =
      open_ &&
      (items_.back().kind == Kind::kFunctionCall || items_.back().kind == Kind::kCustomToolCall) &&
      items_.back().tool_index == call.index;
  if (!same) open_item(Kind::kFunctionCall, &call);
  Item& it = items_.back();
  if (call.arguments.empty()) return;
  it.text += call.arguments;
  if (!opt_.stream || it.kind != Kind::kFunctionCall) return;
  std::string delta = item_ref(it) + ",\"delta\":";
  append_json_string(delta, call.arguments);
  event("response.function_call_arguments.delta", delta);
}

Status ResponsesEmitter::on_end(const AnswerEnd& end) {
  if (ended_) return ok_status();
  start();
  usage_ = end.usage;
  const bool incomplete =
      end.reason == FinishReason::kLength || end.reason == FinishReason::kContentFilter;
  close_item(incomplete);
  ended_ = true;
  if (incomplete) {
    status_ = "incomplete";
    incomplete_reason_ =
        end.reason == FinishReason::kLength ? "max_output_tokens" : "content_filter";
  } else {
    status_ = "completed";
    completed_at_ = opt_.wall_ms != nullptr ? *opt_.wall_ms / 1000 : opt_.created_at;
  }
  if (!opt_.stream) {
    std::string body;
    append_response(body, status_, {});
    out_ += body;
    committed_ = true;
    return ok_status();
  }
  std::string r = "\"response\":";
  append_response(r, status_, {});
  event(incomplete ? "response.incomplete" : "response.completed", r);
  return ok_status();
}

void ResponsesEmitter::write_keepalive() {
  if (!opt_.stream || ended_) return;
  if (!started_) {
    start();
    return;
  }
  out_ += kSseKeepAlive;
}

void ResponsesEmitter::write_error_event(const Error& error) {
  if (!opt_.stream || ended_) return;
  start();
  if (open_) {
    open_ = false;
    items_.back().incomplete = true;  // cut: no .done events
  }
  ended_ = true;
  status_ = "failed";
  error_json_ = "{\"code\":" + json_string(errc_info(error.code).code) +
                ",\"message\":" + json_string(error.message) + "}";
  std::string r = "\"response\":";
  append_response(r, status_, {});
  event("response.failed", r);
}

std::string ResponsesEmitter::take_output() {
  return out_.take();
}

// ---- documents -----------------------------------------------------------------------------

std::string ResponsesEmitter::custom_input(const Item& item) const {
  return custom_tool_input(item.text);
}

void ResponsesEmitter::append_item(std::string& out, const Item& it, bool added) const {
  const std::string_view status = added           ? "in_progress"
                                  : it.incomplete ? "incomplete"
                                                  : "completed";
  out += "{\"id\":";
  append_json_string(out, it.id);
  switch (it.kind) {
    case Kind::kReasoning: {
      out += ",\"type\":\"reasoning\",\"status\":";
      append_json_string(out, status);
      std::string part;
      if (!added) {
        part = std::string("[{\"type\":\"") +
               (opt_.reasoning_summary ? "summary_text" : "reasoning_text") + "\",\"text\":";
        part += escaped(it);
        part += "}]";
      } else {
        part = "[]";
      }
      out += ",\"summary\":";
      out += opt_.reasoning_summary ? part : "[]";
      out += ",\"content\":";
      out += opt_.reasoning_summary ? "[]" : part;
      if (opt_.encrypted_reasoning) out += ",\"encrypted_content\":null";
      break;
    }
    case Kind::kMessage:
      out += ",\"type\":\"message\",\"status\":";
      append_json_string(out, status);
      out += ",\"role\":\"assistant\",\"content\":[";
      if (!added) {
        out += "{\"type\":\"output_text\",\"annotations\":" + annotations_json(it) +
               ",\"logprobs\":[],\"text\":";
        out += escaped(it);
        out += '}';
      }
      out += ']';
      break;
    case Kind::kFunctionCall:
    case Kind::kCustomToolCall: {
      const bool custom = it.kind == Kind::kCustomToolCall;
      out += custom ? ",\"type\":\"custom_tool_call\",\"status\":"
                    : ",\"type\":\"function_call\",\"status\":";
      append_json_string(out, status);
      out += ",\"call_id\":";
      append_json_string(out, it.call_id);
      if (!it.ns.empty()) {
        out += ",\"namespace\":";
        append_json_string(out, it.ns);
      }
      out += ",\"name\":";
      append_json_string(out, it.name);
      out += custom ? ",\"input\":" : ",\"arguments\":";
      append_json_string(out, added ? std::string() : custom ? custom_input(it) : it.text);
      break;
    }
  }
  out += '}';
}

void ResponsesEmitter::append_usage(std::string& out) const {
  const Usage& u = usage_;
  const int64_t input = u.prompt_tokens;
  const int64_t output = u.completion_tokens;
  const int64_t total = u.total_tokens > 0 ? u.total_tokens : input + output;
  out += "{\"input_tokens\":" + std::to_string(input) +
         ",\"input_tokens_details\":{\"cached_tokens\":" +
         std::to_string(u.cached_tokens > 0 ? u.cached_tokens : 0) +
         ",\"cache_write_tokens\":0},\"output_tokens\":" + std::to_string(output) +
         ",\"output_tokens_details\":{\"reasoning_tokens\":" +
         std::to_string(u.reasoning_tokens > 0 ? u.reasoning_tokens : 0) +
         "},\"total_tokens\":" + std::to_string(total) + "}";
}

void ResponsesEmitter::append_response(std::string& out, std::string_view status,
                                       std::string_view) const {
  const bool in_progress = status == "in_progress";
  out += "{\"id\":";
  append_json_string(out, opt_.id);
  out += ",\"object\":\"response\",\"created_at\":" + std::to_string(opt_.created_at);
  out += ",\"status\":";
  append_json_string(out, status);
  out += ",\"background\":false,\"completed_at\":";
  out += status == "completed" && completed_at_ >= 0 ? std::to_string(completed_at_) : "null";
  out += ",\"error\":";
  out += status == "failed" ? error_json_ : "null";
  out += ",\"incomplete_details\":";
  if (status == "incomplete") {
    out += "{\"reason\":";
    append_json_string(out, incomplete_reason_);
    out += '}';
  } else {
    out += "null";
  }
  out += ",\"model\":";
  append_json_string(out, opt_.model);
  out += ",\"output\":[";
  if (!in_progress) {
    bool first = true;
    for (const Item& it : items_) {
      if (!first) out += ',';
      first = false;
      append_item(out, it, false);
    }
  }
  out += "],\"previous_response_id\":null,\"store\":false,\"truncation\":\"disabled\",\"usage\":";
  if (in_progress) {
    out += "null";
  } else {
    append_usage(out);
  }
  if (!opt_.echo.empty()) {
    out += ',';
    out += opt_.echo;
  }
  out += '}';
}

}  // namespace zproxy
