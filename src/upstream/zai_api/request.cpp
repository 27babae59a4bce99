// The official API's chat request (docs/upstream.md §2.2). Body, in this key order, each key
// only when it applies:
//   {"model","messages","stream","thinking":{"type"},"reasoning_effort","max_tokens",
//    "temperature","top_p","stop":[first],"tools","tool_choice":"auto","tool_stream":true,
//    "response_format":{"type":"json_object"},"request_id","user_id"}
// reasoning_effort only when the dialect passes it on (Messages' output_config.effort);
// tool_stream when streaming with tools to a model that streams tool arguments (glm-4.6,
// glm-4.7, glm-5 and their variants, not glm-4.6v). Tool names over 64 characters are
// shortened (core/tool_names.h).
// No stream_options: upstream puts usage in the final chunk anyway (docs/upstream.md §2.3).
//
// Messages carry role, content, name, reasoning_content, tool_calls and tool_call_id, written
// from the canonical request (other keys a client sent, such as an echoed `refusal` or
// `annotations`, never reach it):
// - role "developer" (OpenAI's newer name for system) is sent as "system";
// - assistant content null or absent -> "";
// - a content array of text parts only, on any role but user, -> the texts joined without a
//   separator; user arrays (text and image parts) stay arrays for the vision models.
// Tools are {"type":"function","function":{name, description?, parameters?, strict?}}, the
// parameter schema written as the client sent it (compact).
// tool_choice "none" is honoured by sending neither tools nor tool_choice (upstream knows only
// "auto"); "auto" and absent pass tools as they are.

#include <cctype>
#include <cmath>

#include "core/ascii.h"
#include "core/tool_names.h"
#include "json/json.h"
#include "upstream/zai_api/api.h"
#include "upstream/zai_api/request_writer.h"

namespace zproxy::api {
namespace {

constexpr size_t kRequestIdMin = 6, kRequestIdMax = 64;  // upstream's request_id bounds
constexpr size_t kUserIdMin = 6, kUserIdMax = 128;       // upstream's user_id bounds

Status unsupported(std::string message, std::string param) {
  return make_error(Errc::kUnsupportedValue, std::move(message), std::move(param));
}

// The joined text of a list of parts; false if any part is not text.
bool text_only(const std::vector<Part>& parts, std::string& joined) {
  for (const Part& part : parts) {
    if (part.kind != PartKind::kText) return false;
    joined.append(part.text);
  }
  return true;
}

void write_part(JsonWriter& w, const Part& part) {
  w.StartObject();
  w.Key("type");
  switch (part.kind) {
    case PartKind::kText:
      w.String("text");
      w.Key("text");
      w.String(part.text);
      break;
    case PartKind::kImage:
      w.String("image_url");
      w.Key("image_url");
      w.StartObject();
      w.Key("url");
      w.String(part.text);
      if (!part.detail.empty()) {
        w.Key("detail");
        w.String(part.detail);
      }
      w.EndObject();
      break;
    case PartKind::kRefusal:
      w.String("refusal");
      w.Key("refusal");
      w.String(part.text);
      break;
  }
  w.EndObject();
}

void write_content(JsonWriter& w, const Message& msg) {
  if (msg.form == ContentForm::kNone) {
    if (msg.role != Role::kAssistant) return;
    w.Key("content");
    w.String("");
    return;
  }
  w.Key("content");
  if (msg.form == ContentForm::kString) {
    w.String(msg.parts.front().text);
    return;
  }
  std::string joined;
  if (msg.role != Role::kUser && text_only(msg.parts, joined)) {
    w.String(joined);
    return;
  }
  w.StartArray();
  for (const Part& part : msg.parts) write_part(w, part);
  w.EndArray();
}

void write_tool_calls(JsonWriter& w, const std::vector<ToolCall>& calls) {
  w.Key("tool_calls");
  w.StartArray();
  for (const ToolCall& call : calls) {
    w.StartObject();
    w.Key("id");
    w.String(call.id);
    w.Key("type");
    w.String("function");
    w.Key("function");
    w.StartObject();
    w.Key("name");
    w.String(upstream_tool_name(call.name));
    w.Key("arguments");
    w.String(call.arguments);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
}

void write_message(JsonWriter& w, const Message& msg) {
  const Role role = msg.role == Role::kDeveloper ? Role::kSystem : msg.role;
  w.StartObject();
  w.Key("role");
  w.String(role_name(role));
  write_content(w, msg);
  if (!msg.name.empty()) {
    w.Key("name");
    w.String(msg.name);
  }
  if (msg.reasoning) {
    w.Key("reasoning_content");
    w.String(*msg.reasoning);
  }
  if (!msg.tool_calls.empty()) write_tool_calls(w, msg.tool_calls);
  if (!msg.tool_call_id.empty()) {
    w.Key("tool_call_id");
    w.String(msg.tool_call_id);
  }
  w.EndObject();
}

void write_schema_instruction(JsonWriter& w, std::string_view schema) {
  std::string text =
      "Answer with one JSON value only: no prose before or after it and no code fences.";
  if (!schema.empty()) {
    text += " It must conform to this JSON Schema:\n";
    text += schema;
  }
  w.StartObject();
  w.Key("role");
  w.String("system");
  w.Key("content");
  w.String(text);
  w.EndObject();
}

}  // namespace

void write_messages(JsonWriter& w, const CanonicalRequest& r) {
  w.Key("messages");
  w.StartArray();
  // JSON_SCHEMA=emulate: upstream gets json_object and the schema as a system instruction,
  // after the leading system messages.
  const bool schema = r.response_format == ResponseFormat::kJsonSchema;
  bool instructed = !schema;
  for (const Message& msg : r.messages) {
    if (!instructed && msg.role != Role::kSystem && msg.role != Role::kDeveloper) {
      write_schema_instruction(w, r.json_schema);
      instructed = true;
    }
    write_message(w, msg);
  }
  if (!instructed) write_schema_instruction(w, r.json_schema);
  w.EndArray();
}

namespace {

void write_number(JsonWriter& w, std::string_view key, const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return;
  w.Key(key);
  w.Double(*v);
}

void write_sampling(JsonWriter& w, const CanonicalRequest& r) {
  if (r.thinking != ThinkingSwitch::kDefault) {
    w.Key("thinking");
    w.StartObject();
    w.Key("type");
    w.String(r.thinking == ThinkingSwitch::kEnabled ? "enabled" : "disabled");
    w.EndObject();
  }
  if (r.send_effort && !r.reasoning_effort.empty()) {
    w.Key("reasoning_effort");
    w.String(r.reasoning_effort);
  }
  if (r.max_tokens) {
    w.Key("max_tokens");
    w.Int64(*r.max_tokens);
  }
  write_number(w, "temperature", r.temperature);
  write_number(w, "top_p", r.top_p);
  if (!r.stop.empty()) {
    w.Key("stop");
    w.StartArray();
    w.String(r.stop.front());
    w.EndArray();
  }
}

}  // namespace

void write_tool(JsonWriter& w, const Tool& tool) {
  w.StartObject();
  w.Key("type");
  w.String("function");
  w.Key("function");
  w.StartObject();
  w.Key("name");
  w.String(upstream_tool_name(tool.name));
  if (tool.description) {
    w.Key("description");
    w.String(*tool.description);
  }
  if (!tool.parameters.empty()) {
    w.Key("parameters");
    w.RawValue(tool.parameters);
  }
  if (tool.strict) {
    w.Key("strict");
    w.Bool(*tool.strict);
  }
  w.EndObject();
  w.EndObject();
}

namespace {

// Models that stream tool-call arguments as they are generated when asked (tool_stream).
bool streams_tool_calls(std::string_view model) {
  if (model.starts_with("glm-4.6v")) return false;
  return model.starts_with("glm-4.6") || model.starts_with("glm-4.7") || model.starts_with("glm-5");
}

void write_web_search(JsonWriter& w, std::string_view engine) {
  w.StartObject();
  w.Key("type");
  w.String("web_search");
  w.Key("web_search");
  w.StartObject();
  w.Key("enable");
  w.Bool(true);
  w.Key("search_engine");
  w.String(engine);
  w.Key("search_result");
  w.Bool(true);
  w.EndObject();
  w.EndObject();
}

void write_tools(JsonWriter& w, const CanonicalRequest& r, std::string_view model,
                 std::string_view search_engine) {
  const bool functions = r.has_tools() && r.tool_choice != ToolChoice::kNone;
  if (r.web_search && !functions) {
    w.Key("tools");
    w.StartArray();
    write_web_search(w, search_engine);
    w.EndArray();
  }
  if (functions) {
    w.Key("tools");
    w.StartArray();
    for (const Tool& tool : r.tools) write_tool(w, tool);
    if (r.web_search) write_web_search(w, search_engine);
    w.EndArray();
    if (r.tool_choice == ToolChoice::kAuto) {
      w.Key("tool_choice");
      w.String("auto");
    }
    if (r.stream && streams_tool_calls(model)) {
      w.Key("tool_stream");
      w.Bool(true);
    }
  }
  // json_schema (JSON_SCHEMA=emulate): json_object, the schema an instruction (write_messages).
  if (r.response_format == ResponseFormat::kJsonObject ||
      r.response_format == ResponseFormat::kJsonSchema) {
    w.Key("response_format");
    w.StartObject();
    w.Key("type");
    w.String("json_object");
    w.EndObject();
  }
}

std::string build_body(const CanonicalRequest& r, std::string_view model,
                       std::string_view search_engine, std::string_view request_id) {
  JsonBuffer buf;
  buf.reserve(r.text_bytes + 1024);  // the messages are most of it: one allocation
  JsonWriter w(buf);
  w.StartObject();
  w.Key("model");
  w.String(model);
  write_messages(w, r);
  w.Key("stream");
  w.Bool(r.stream);
  write_sampling(w, r);
  write_tools(w, r, model, search_engine);
  if (request_id.size() >= kRequestIdMin && request_id.size() <= kRequestIdMax) {
    w.Key("request_id");
    w.String(request_id);
  }
  if (r.user.size() >= kUserIdMin && r.user.size() <= kUserIdMax) {
    w.Key("user_id");
    w.String(r.user);
  }
  w.EndObject();
  return buf.take();
}

// ZAI_EXTRA_HEADERS replace a header of the same name (case-insensitive), else are appended;
// Authorization stays the pool's.
void add_extra_headers(std::vector<Header>& headers, const std::vector<Header>& extra) {
  for (const Header& h : extra) {
    if (iequals(h.name, "Authorization")) continue;
    bool replaced = false;
    for (Header& existing : headers) {
      if (iequals(existing.name, h.name)) {
        existing.value = h.value;
        replaced = true;
      }
    }
    if (!replaced) headers.push_back(h);
  }
}

}  // namespace

void add_common_headers(std::vector<Header>& headers, const Config& config,
                        std::string_view api_key, std::string_view accept) {
  headers.reserve(headers.size() + 5 + config.zai_extra_headers.size());
  headers.push_back({"Authorization", "Bearer " + std::string(api_key)});
  headers.push_back({"Content-Type", "application/json"});
  headers.push_back({"Accept", std::string(accept)});
  if (!config.zai_user_agent.empty()) headers.push_back({"User-Agent", config.zai_user_agent});
  headers.push_back({"Accept-Encoding", "identity"});
  add_extra_headers(headers, config.zai_extra_headers);
}

Status check_request(const CanonicalRequest& request) {
  if (request.tool_choice == ToolChoice::kRequired ||
      request.tool_choice == ToolChoice::kFunction) {
    return unsupported("API mode supports tool_choice \"auto\" and \"none\" only", "tool_choice");
  }
  if (request.n > 1) return unsupported("n greater than 1 is not supported", "n");
  if (request.logprobs) return unsupported("logprobs are not supported", "logprobs");
  return ok_status();
}

UpstreamRequest build_chat_request(const CanonicalRequest& request, const Config& config,
                                   std::string_view upstream_model, std::string_view api_key,
                                   std::string_view request_id) {
  UpstreamRequest out;
  out.method = "POST";
  out.url = config.zai_api_base_url + "/chat/completions";
  add_common_headers(out.headers, config, api_key,
                     request.stream ? "text/event-stream" : "application/json");
  out.body = build_body(request, upstream_model, config.web_search_engine, request_id);
  return out;
}

}  // namespace zproxy::api
