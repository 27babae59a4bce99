// The official API's chat request (docs/upstream.md §2.2). Body, in this key order, each key
// only when it applies:
//   {"model","messages","stream","thinking":{"type"},"max_tokens","temperature","top_p",
//    "stop":[first],"tools","tool_choice":"auto","response_format":{"type":"json_object"},
//    "request_id","user_id"}
// No stream_options: upstream puts usage in the final chunk anyway (docs/upstream.md §2.3).
//
// Messages carry role, content, name, reasoning_content, tool_calls and tool_call_id (values
// copied as sent; other keys, such as an echoed `refusal` or `annotations`, are dropped):
// - role "developer" (OpenAI's newer name for system) is sent as "system";
// - assistant content null or absent -> "";
// - a content array of text parts only, on any role but user, -> the texts joined without a
//   separator; user arrays (text and image parts) pass unchanged for the vision models.
// tool_choice "none" is honoured by sending neither tools nor tool_choice (upstream knows only
// "auto"); "auto" and absent pass tools as they are.

#include <cctype>
#include <cmath>

#include "upstream/zai_api/api.h"
#include "core/ascii.h"
#include "json/rapidjson_dom.h"

namespace zproxy::api {
namespace {

constexpr size_t kRequestIdMin = 6, kRequestIdMax = 64;  // upstream's request_id bounds
constexpr size_t kUserIdMin = 6, kUserIdMax = 128;       // upstream's user_id bounds

Status unsupported(std::string message, std::string param) {
  return make_error(Errc::kUnsupportedValue, std::move(message), std::move(param));
}

// The joined text of an array of {"type":"text","text":…} parts; false if any part is other.
bool text_only(const rapidjson::Value& parts, std::string& joined) {
  for (const auto& part : parts.GetArray()) {
    if (json_string(part, "type") != "text") return false;
    const rapidjson::Value* text = json_member(part, "text");
    if (!json_is_string(text)) return false;
    joined.append(as_view(*text));
  }
  return true;
}

void write_content(JsonWriter& w, const rapidjson::Value* content, std::string_view role) {
  if ((content == nullptr || content->IsNull()) && role == "assistant") {
    json_write_key(w, "content");
    json_write_string(w, "");
    return;
  }
  if (content == nullptr) return;
  json_write_key(w, "content");
  std::string joined;
  if (content->IsArray() && role != "user" && text_only(*content, joined)) {
    json_write_string(w, joined);
  } else {
    content->Accept(w);
  }
}

void write_message(JsonWriter& w, const rapidjson::Value& msg) {
  if (!msg.IsObject()) {  // parse_chat_request refuses these; should one pass, copy it
    msg.Accept(w);
    return;
  }
  std::string_view role = json_string(msg, "role");
  if (role == "developer") role = "system";
  w.StartObject();
  json_write_key(w, "role");
  json_write_string(w, role);
  write_content(w, json_member(msg, "content"), role);
  for (std::string_view key : {"name", "reasoning_content", "tool_calls", "tool_call_id"}) {
    const rapidjson::Value* v = json_member(msg, key);
    if (v == nullptr || v->IsNull() || (v->IsArray() && v->Empty())) continue;
    json_write_key(w, key);
    v->Accept(w);
  }
  w.EndObject();
}

void write_messages(JsonWriter& w, const rapidjson::Value& doc) {
  json_write_key(w, "messages");
  w.StartArray();
  const rapidjson::Value* messages = json_member(doc, "messages");
  if (messages != nullptr && messages->IsArray()) {
    for (const auto& msg : messages->GetArray()) write_message(w, msg);
  }
  w.EndArray();
}

void write_number(JsonWriter& w, std::string_view key, const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return;
  json_write_key(w, key);
  w.Double(*v);
}

void write_sampling(JsonWriter& w, const ChatRequest& r) {
  if (r.thinking != ThinkingSwitch::kDefault) {
    json_write_key(w, "thinking");
    w.StartObject();
    json_write_key(w, "type");
    json_write_string(w, r.thinking == ThinkingSwitch::kEnabled ? "enabled" : "disabled");
    w.EndObject();
  }
  if (r.max_tokens) {
    json_write_key(w, "max_tokens");
    w.Int64(*r.max_tokens);
  }
  write_number(w, "temperature", r.temperature);
  write_number(w, "top_p", r.top_p);
  if (!r.stop.empty()) {
    json_write_key(w, "stop");
    w.StartArray();
    json_write_string(w, r.stop.front());
    w.EndArray();
  }
}

void write_tools(JsonWriter& w, const ChatRequest& r) {
  const rapidjson::Value* tools = json_member(r.doc, "tools");
  if (r.has_tools && r.tool_choice != "none" && tools != nullptr && tools->IsArray()) {
    json_write_key(w, "tools");
    tools->Accept(w);
    if (r.tool_choice == "auto") {
      json_write_key(w, "tool_choice");
      json_write_string(w, "auto");
    }
  }
  // json_schema never gets here (check_request); were it to, json_object is its nearest kin.
  if (r.response_format == "json_object" || r.response_format == "json_schema") {
    json_write_key(w, "response_format");
    w.StartObject();
    json_write_key(w, "type");
    json_write_string(w, "json_object");
    w.EndObject();
  }
}

std::string build_body(const ChatRequest& r, std::string_view model, std::string_view request_id) {
  JsonBuffer buf;
  buf.reserve(r.text_bytes + 1024);  // the messages are most of it: one allocation
  JsonWriter w(buf);
  w.StartObject();
  json_write_key(w, "model");
  json_write_string(w, model);
  write_messages(w, r.doc);
  json_write_key(w, "stream");
  w.Bool(r.stream);
  write_sampling(w, r);
  write_tools(w, r);
  if (request_id.size() >= kRequestIdMin && request_id.size() <= kRequestIdMax) {
    json_write_key(w, "request_id");
    json_write_string(w, request_id);
  }
  if (r.user.size() >= kUserIdMin && r.user.size() <= kUserIdMax) {
    json_write_key(w, "user_id");
    json_write_string(w, r.user);
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

Status check_request(const ChatRequest& request) {
  if (!request.tool_choice.empty() && request.tool_choice != "auto" &&
      request.tool_choice != "none") {
    return unsupported("API mode supports tool_choice \"auto\" and \"none\" only", "tool_choice");
  }
  if (request.n > 1) return unsupported("n greater than 1 is not supported", "n");
  if (request.logprobs) return unsupported("logprobs are not supported", "logprobs");
  if (!request.response_format.empty() && request.response_format != "text" &&
      request.response_format != "json_object") {
    return unsupported("API mode supports response_format \"text\" and \"json_object\" only",
                       "response_format");
  }
  return ok_status();
}

UpstreamRequest build_chat_request(const ChatRequest& request, const Config& config,
                                   std::string_view upstream_model, std::string_view api_key,
                                   std::string_view request_id) {
  UpstreamRequest out;
  out.method = "POST";
  out.url = config.zai_api_base_url + "/chat/completions";
  out.headers.push_back({"Authorization", "Bearer " + std::string(api_key)});
  out.headers.push_back({"Content-Type", "application/json"});
  out.headers.push_back({"Accept", request.stream ? "text/event-stream" : "application/json"});
  if (!config.zai_user_agent.empty()) out.headers.push_back({"User-Agent", config.zai_user_agent});
  out.headers.push_back({"Accept-Encoding", "identity"});
  add_extra_headers(out.headers, config.zai_extra_headers);
  out.body = build_body(request, upstream_model, request_id);
  return out;
}

}  // namespace zproxy::api
