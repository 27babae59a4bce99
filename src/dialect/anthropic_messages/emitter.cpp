#include "dialect/anthropic_messages/emitter.h"

#include <array>
#include <utility>

#include "core/ascii.h"
#include "json/json.h"

namespace zproxy {
namespace {

std::string_view stop_reason(const AnswerEnd& end) {
  switch (end.reason) {
    case FinishReason::kStop: return end.stop_sequence.empty() ? "end_turn" : "stop_sequence";
    case FinishReason::kLength: return "max_tokens";
    case FinishReason::kToolCalls: return "tool_use";
    case FinishReason::kContentFilter: return "refusal";
  }
  return "end_turn";
}

bool valid_tool_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && only_alnum_or(id, "_-");
}

std::span<const uint8_t> seed_bytes(const uint64_t& seed) {
  return {reinterpret_cast<const uint8_t*>(&seed), sizeof seed};
}

struct ErrorKind {
  int status;
  std::string_view type;
};

ErrorKind error_kind(Errc code) {
  if (code == Errc::kUpstreamOverloaded) return {529, "overloaded_error"};
  const int status = errc_info(code).status;
  switch (status) {
    case 401: return {401, "authentication_error"};
    case 403: return {403, "permission_error"};
    case 404: return {404, "not_found_error"};
    case 413: return {413, "request_too_large"};
    case 429: return {429, "rate_limit_error"};
    case 504: return {504, "timeout_error"};
    default: break;
  }
  if (status >= 500) return {status, "api_error"};
  return {status, "invalid_request_error"};
}

}  // namespace

int messages_error_status(const Error& error) {
  return error_kind(error.code).status;
}

std::string messages_error_json(const Error& error, std::string_view request_id) {
  std::string message = error.message;
  if (error.code == Errc::kContextLengthExceeded) {
    message = "prompt is too long: " + message;  // Claude Code compacts on this wording
  }
  std::string out = "{\"type\":\"error\",\"error\":{\"type\":";
  append_json_string(out, error_kind(error.code).type);
  out += ",\"message\":";
  append_json_string(out, message);
  out += "},\"request_id\":";
  append_json_string(out, request_id);
  out += '}';
  return out;
}

MessagesEmitter::MessagesEmitter(MessagesEmitterOptions options)
    : opt_(std::move(options)), ids_(seed_bytes(opt_.id_seed)) {}

// ---- events --------------------------------------------------------------------------------

void MessagesEmitter::on_reasoning(std::string_view text) {
  if (open_ != Kind::kThinking) open_block(Kind::kThinking, nullptr);
  output_chars_ += static_cast<int64_t>(text.size());
  if (!opt_.thinking_text) return;
  if (!opt_.stream) {
    blocks_.back().text += text;
    return;
  }
  write_delta("thinking_delta", "thinking", text);
}

void MessagesEmitter::on_text(std::string_view text) {
  if (open_ != Kind::kText) open_block(Kind::kText, nullptr);
  output_chars_ += static_cast<int64_t>(text.size());
  if (!opt_.stream) {
    blocks_.back().text += text;
    return;
  }
  write_delta("text_delta", "text", text);
}

std::string MessagesEmitter::client_tool_name(std::string_view upstream_name) const {
  for (const auto& [sent, original] : opt_.tool_names) {
    if (sent == upstream_name) return original;
  }
  return std::string(upstream_name);
}

void MessagesEmitter::on_tool_call(const ToolCallDelta& call) {
  if (open_ != Kind::kToolUse || call.index != tool_index_) open_block(Kind::kToolUse, &call);
  output_chars_ += static_cast<int64_t>(call.arguments.size());
  if (!opt_.stream) {
    blocks_.back().text += call.arguments;
    if (blocks_.back().name.empty()) blocks_.back().name = client_tool_name(call.name);
    return;
  }
  if (call.arguments.empty()) return;
  tool_args_sent_ = true;
  write_delta("input_json_delta", "partial_json", call.arguments);
}

Status MessagesEmitter::on_end(const AnswerEnd& end) {
  if (!opt_.stream) return write_body(end);
  start_message();
  close_block();
  std::string delta = "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":";
  append_json_string(delta, stop_reason(end));
  delta += ",\"stop_sequence\":";
  if (end.stop_sequence.empty()) {
    delta += "null";
  } else {
    append_json_string(delta, end.stop_sequence);
  }
  delta += "},\"usage\":" + usage_json(end.usage) + "}";
  event("message_delta", delta);
  event("message_stop", "{\"type\":\"message_stop\"}");
  ended_ = true;
  return ok_status();
}

void MessagesEmitter::write_keepalive() {
  if (!started_) {
    start_message();  // message_start and its ping
    return;
  }
  event("ping", "{\"type\":\"ping\"}");
}

void MessagesEmitter::write_error_event(const Error& error) {
  if (!opt_.stream || ended_) return;
  event("error", messages_error_json(error, opt_.request_id));
  ended_ = true;
}

std::string MessagesEmitter::take_output() {
  return out_.take();
}

// ---- blocks --------------------------------------------------------------------------------

void MessagesEmitter::event(std::string_view type, std::string_view json) {
  out_ += "event: ";
  out_ += type;
  out_ += "\ndata: ";
  out_ += json;
  out_ += "\n\n";
}

void MessagesEmitter::start_message() {
  if (started_ || !opt_.stream) return;
  started_ = true;
  committed_ = true;
  std::string m = "{\"type\":\"message_start\",\"message\":{\"id\":";
  append_json_string(m, opt_.id);
  m += ",\"type\":\"message\",\"role\":\"assistant\",\"model\":";
  append_json_string(m, opt_.model);
  m += ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":";
  m += std::to_string(opt_.input_estimate);
  m += ",\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}";
  event("message_start", m);
  event("ping", "{\"type\":\"ping\"}");
}

void MessagesEmitter::open_block(Kind kind, const ToolCallDelta* call) {
  close_block();
  ++index_;
  open_ = kind;
  Block b;
  b.kind = kind;
  if (kind == Kind::kToolUse) {
    tool_index_ = call->index;
    tool_args_sent_ = false;
    b.id = tool_id(call->id);
    b.name = client_tool_name(call->name);
  }
  if (!opt_.stream) {
    blocks_.push_back(std::move(b));
    return;
  }
  start_message();
  std::string s = "{\"type\":\"content_block_start\",\"index\":" + std::to_string(index_) +
                  ",\"content_block\":";
  switch (kind) {
    case Kind::kThinking: s += R"({"type":"thinking","thinking":"","signature":""})"; break;
    case Kind::kText: s += R"({"type":"text","text":""})"; break;
    default:
      s += R"({"type":"tool_use","id":)";
      append_json_string(s, b.id);
      s += ",\"name\":";
      append_json_string(s, b.name);
      s += ",\"input\":{}}";
      break;
  }
  event("content_block_start", s + "}");
}

void MessagesEmitter::close_block() {
  if (open_ == Kind::kNone) return;
  const Kind kind = open_;
  open_ = Kind::kNone;
  if (!opt_.stream) return;
  if (kind == Kind::kThinking) write_delta("signature_delta", "signature", kThinkingSignature);
  if (kind == Kind::kToolUse && !tool_args_sent_) {
    write_delta("input_json_delta", "partial_json", "{}");
  }
  event("content_block_stop",
        "{\"type\":\"content_block_stop\",\"index\":" + std::to_string(index_) + "}");
}

void MessagesEmitter::write_delta(std::string_view delta_type, std::string_view key,
                                  std::string_view text) {
  out_ += "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":";
  out_ += std::to_string(index_);
  out_ += ",\"delta\":{\"type\":\"";
  out_ += delta_type;
  out_ += "\",\"";
  out_ += key;
  out_ += "\":\"";
  out_.append_json_escaped(text);
  out_ += "\"}}\n\n";
}

std::string MessagesEmitter::tool_id(std::string_view upstream_id) {
  if (valid_tool_id(upstream_id)) return std::string(upstream_id);
  return ids_.alnum("toolu_", 24);
}

std::string MessagesEmitter::usage_json(const Usage& u) const {
  const bool reported = u.prompt_tokens > 0 || u.completion_tokens > 0;
  const int64_t cached = u.cached_tokens > 0 ? u.cached_tokens : 0;
  const int64_t input = reported ? u.prompt_tokens - cached : opt_.input_estimate;
  const int64_t output = reported ? u.completion_tokens : (output_chars_ + 2) / 3;
  return "{\"input_tokens\":" + std::to_string(input) +
         ",\"output_tokens\":" + std::to_string(output) +
         ",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":" +
         std::to_string(cached) + "}";
}

// ---- non-streaming -------------------------------------------------------------------------

Status MessagesEmitter::write_body(const AnswerEnd& end) {
  std::string body = "{\"id\":";
  append_json_string(body, opt_.id);
  body += ",\"type\":\"message\",\"role\":\"assistant\",\"model\":";
  append_json_string(body, opt_.model);
  body += ",\"content\":[";
  bool first = true;
  for (const Block& b : blocks_) {
    if (!first) body += ',';
    first = false;
    if (b.kind == Kind::kThinking) {
      body += "{\"type\":\"thinking\",\"thinking\":";
      append_json_string(body, b.text);
      body += ",\"signature\":";
      append_json_string(body, kThinkingSignature);
    } else if (b.kind == Kind::kText) {
      body += "{\"type\":\"text\",\"text\":";
      append_json_string(body, b.text);
    } else {
      std::string input = "{}";
      if (!b.text.empty()) {
        auto doc = parse_json(b.text);
        if (!doc.ok() || !doc->is_object()) {
          return make_error(Errc::kUpstreamBadResponse,
                            "Upstream tool-call arguments are not a JSON object");
        }
        input = json_dump(*doc);
      }
      body += "{\"type\":\"tool_use\",\"id\":";
      append_json_string(body, b.id);
      body += ",\"name\":";
      append_json_string(body, b.name);
      body += ",\"input\":" + input;
    }
    body += '}';
  }
  body += "],\"stop_reason\":";
  append_json_string(body, stop_reason(end));
  body += ",\"stop_sequence\":";
  if (end.stop_sequence.empty()) {
    body += "null";
  } else {
    append_json_string(body, end.stop_sequence);
  }
  body += ",\"usage\":" + usage_json(end.usage) + "}";
  out_ += body;
  committed_ = true;
  ended_ = true;
  return ok_status();
}

}  // namespace zproxy
