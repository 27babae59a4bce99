// The guest chat request (docs/upstream.md §1.3) and the guest column of docs/contract.md §5.2.
#include <initializer_list>
#include <string>
#include <utility>

#include "json/json.h"
#include "upstream/guest/guest.h"
#include "upstream/guest/upstream_headers.h"
#include "upstream/guest/utc_datetime.h"

namespace zproxy::guest {
namespace {

Error unsupported(std::string message, std::string param) {
  return make_error(Errc::kUnsupportedValue, std::move(message), std::move(param));
}

// The first content part that is not text, as a 400 naming it; ok when all parts are text.
Status check_content_parts(const CanonicalRequest& request) {
  for (size_t i = 0; i < request.messages.size(); ++i) {
    const std::vector<Part>& parts = request.messages[i].parts;
    for (size_t j = 0; j < parts.size(); ++j) {
      if (parts[j].kind == PartKind::kText) continue;
      const std::string param =
          "messages[" + std::to_string(i) + "].content[" + std::to_string(j) + "]";
      if (parts[j].kind == PartKind::kImage) {
        return unsupported(
            "image parts are not supported in guest mode (guests cannot upload "
            "files); use API mode (UPSTREAM_MODE=api)",
            param);
      }
      return unsupported("content parts of type \"refusal\" are not supported in guest mode",
                         param);
    }
  }
  return ok_status();
}

// A string stays a string, parts stay a list (of their text parts), no content is "".
void write_content(JsonWriter& w, const Message& message) {
  if (message.form == ContentForm::kString) {
    w.String(message.parts.front().text);
    return;
  }
  if (message.form == ContentForm::kNone) {
    w.String("");
    return;
  }
  w.StartArray();
  for (const Part& part : message.parts) {
    if (part.kind != PartKind::kText) continue;
    w.StartObject();
    w.Key("type");
    w.String("text");
    w.Key("text");
    w.String(part.text);
    w.EndObject();
  }
  w.EndArray();
}

void write_messages(JsonWriter& w, const CanonicalRequest& request) {
  w.StartArray();
  for (const Message& message : request.messages) {
    w.StartObject();
    w.Key("role");
    w.String(role_name(message.role));
    w.Key("content");
    write_content(w, message);
    w.EndObject();
  }
  w.EndArray();
}

void write_params(JsonWriter& w, const CanonicalRequest& request) {
  w.StartObject();
  if (request.temperature) {
    w.Key("temperature");
    w.Double(*request.temperature);
  }
  if (request.top_p) {
    w.Key("top_p");
    w.Double(*request.top_p);
  }
  if (request.max_tokens) {
    w.Key("max_tokens");
    w.Int64(*request.max_tokens);
  }
  w.EndObject();
}

void write_flags(JsonWriter& w, std::initializer_list<std::pair<const char*, bool>> flags) {
  w.StartObject();
  for (const auto& [name, value] : flags) {
    w.Key(name);
    w.Bool(value);
  }
  w.EndObject();
}

// The web client's prompt template variables.
void write_variables(JsonWriter& w, int64_t now_wall_ms) {
  w.StartObject();
  w.Key("{{USER_NAME}}");
  w.String("Guest");
  w.Key("{{CURRENT_DATETIME}}");
  w.String(format_utc_datetime(now_wall_ms));
  w.EndObject();
}

std::string chat_body(const CanonicalRequest& request, std::string_view upstream_model,
                      const ChatIds& ids, int64_t now_wall_ms) {
  JsonBuffer buf;
  buf.reserve(request.text_bytes + 1024);  // the messages are most of it: one allocation
  JsonWriter w(buf);
  w.StartObject();
  w.Key("stream");
  w.Bool(true);
  w.Key("model");
  w.String(upstream_model);
  w.Key("messages");
  write_messages(w, request);
  w.Key("params");
  write_params(w, request);
  w.Key("features");
  write_flags(w, {{"image_generation", false},
                  {"web_search", false},
                  {"auto_web_search", false},
                  {"preview_mode", false},
                  {"enable_thinking", request.thinking != ThinkingSwitch::kDisabled}});
  w.Key("variables");
  write_variables(w, now_wall_ms);
  w.Key("chat_id");
  w.String(ids.chat_id);
  w.Key("id");
  w.String(ids.message_id);
  w.Key("background_tasks");
  write_flags(w, {{"title_generation", false}, {"tags_generation", false}});
  w.Key("mcp_servers");
  w.StartArray();
  w.EndArray();
  w.EndObject();
  return buf.take();
}

}  // namespace

Status check_request(const CanonicalRequest& request) {
  if (request.has_tools()) {
    return unsupported("tools are not supported in guest mode; use API mode (UPSTREAM_MODE=api)",
                       "tools");
  }
  if (request.tool_choice != ToolChoice::kAbsent) {
    return unsupported("tool_choice is not supported in guest mode", "tool_choice");
  }
  if (Status parts = check_content_parts(request); !parts.ok()) return parts;
  if (request.n > 1) return unsupported("n > 1 is not supported", "n");
  if (request.logprobs) return unsupported("logprobs are not supported", "logprobs");
  if (request.response_format == ResponseFormat::kJsonObject ||
      request.response_format == ResponseFormat::kJsonSchema) {
    const char* name =
        request.response_format == ResponseFormat::kJsonObject ? "json_object" : "json_schema";
    return unsupported("response_format \"" + std::string(name) +
                           "\" is not supported in guest mode; only \"text\"",
                       "response_format");
  }
  return ok_status();
}

UpstreamRequest build_chat_request(const CanonicalRequest& request, const Config& config,
                                   std::string_view upstream_model, std::string_view token,
                                   const ChatIds& ids, int64_t now_wall_ms) {
  UpstreamRequest req;
  req.method = "POST";
  req.url = join_url(config.zai_base_url, config.zai_chat_path);
  req.headers.push_back(Header{"Authorization", "Bearer " + std::string(token)});
  req.headers.push_back(Header{"Content-Type", "application/json"});
  req.headers.push_back(Header{"Accept", "text/event-stream"});
  add_protocol_headers(req.headers, config, join_url(config.zai_base_url, "/c/" + ids.chat_id));
  add_extra_headers(req.headers, config);
  req.body = chat_body(request, upstream_model, ids, now_wall_ms);
  return req;
}

}  // namespace zproxy::guest
