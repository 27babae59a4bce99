#include "dialect/openai_chat/chat_request.h"

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <utility>

#include "json/json.h"

namespace zproxy {
namespace {

using rapidjson::Value;

// Messages follow OpenAI's wording; `param` is the JSON path OpenAI would name, e.g.
// "messages[1].content[0].image_url.url".

std::string_view type_name(const Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "a boolean";
  if (v.IsObject()) return "an object";
  if (v.IsArray()) return "an array";
  if (v.IsString()) return "a string";
  if (v.IsInt64() || v.IsUint64()) return "an integer";
  return "a decimal";
}

Error missing(std::string param) {
  std::string message = "Missing required parameter: '" + param + "'.";
  return make_error(Errc::kMissingRequiredParameter, std::move(message), std::move(param));
}

Error bad_type(std::string param, std::string_view expected, const Value& got) {
  std::string message = "Invalid type for '" + param + "': expected " + std::string(expected) +
                        ", but got " + std::string(type_name(got)) + " instead.";
  return make_error(Errc::kInvalidValue, std::move(message), std::move(param));
}

Error bad_value(std::string param, std::string_view why) {
  std::string message = "Invalid value for '" + param + "': " + std::string(why);
  return make_error(Errc::kInvalidValue, std::move(message), std::move(param));
}

Error unsupported(std::string param, std::string_view why) {
  std::string message = "Unsupported value for '" + param + "': " + std::string(why);
  return make_error(Errc::kUnsupportedValue, std::move(message), std::move(param));
}

// The member `key` of `obj`, or nullptr when absent or JSON null (null means absent).
const Value* opt(const Value& obj, std::string_view key) {
  const Value* v = json_member(obj, key);
  return (v == nullptr || v->IsNull()) ? nullptr : v;
}

std::string at(std::string_view base, size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

// "base.key", or "key" at the top level (empty base).
std::string dot(std::string_view base, std::string_view key) {
  return base.empty() ? std::string(key) : std::string(base) + "." + std::string(key);
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> options) {
  return std::find(options.begin(), options.end(), v) != options.end();
}

// A required string member; `out` receives its value.
Status require_string(const Value& obj, std::string_view base, std::string_view key,
                      std::string_view* out = nullptr) {
  const Value* v = opt(obj, key);
  if (v == nullptr) return missing(dot(base, key));
  if (!v->IsString()) return bad_type(dot(base, key), "a string", *v);
  if (out != nullptr) *out = as_view(*v);
  return ok_status();
}

// An optional member of a given JSON type; absent and null are fine.
Status optional_string(const Value& obj, std::string_view base, std::string_view key) {
  const Value* v = opt(obj, key);
  if (v != nullptr && !v->IsString()) return bad_type(dot(base, key), "a string", *v);
  return ok_status();
}

Status optional_bool(const Value& obj, std::string_view key, std::string param, bool* out) {
  const Value* v = opt(obj, key);
  if (v == nullptr) return ok_status();
  if (!v->IsBool()) return bad_type(std::move(param), "a boolean", *v);
  *out = v->GetBool();
  return ok_status();
}

// The `type` member every tagged union carries (content parts, tools, tool calls, formats).
Status require_type(const Value& obj, const std::string& base, std::string_view* out) {
  return require_string(obj, base, "type", out);
}

Status check_part(const Value& part, const std::string& path, std::string_view role,
                  std::vector<Part>& out) {
  if (!part.IsObject()) return bad_type(path, "an object", part);
  std::string_view type;
  if (Status s = require_type(part, path, &type); !s.ok()) return s;
  std::string_view text;
  if (type == "text") {
    if (Status s = require_string(part, path, "text", &text); !s.ok()) return s;
    out.push_back(Part{PartKind::kText, std::string(text), {}});
    return ok_status();
  }
  if (type == "image_url" && role == "user") {
    const std::string image_path = dot(path, "image_url");
    const Value* image = opt(part, "image_url");
    if (image == nullptr) return missing(image_path);
    if (!image->IsObject()) return bad_type(image_path, "an object", *image);
    if (Status s = require_string(*image, image_path, "url", &text); !s.ok()) return s;
    if (Status s = optional_string(*image, image_path, "detail"); !s.ok()) return s;
    out.push_back(
        Part{PartKind::kImage, std::string(text), std::string(json_string(*image, "detail"))});
    return ok_status();
  }
  if (type == "refusal" && role == "assistant") {
    if (Status s = require_string(part, path, "refusal", &text); !s.ok()) return s;
    out.push_back(Part{PartKind::kRefusal, std::string(text), {}});
    return ok_status();
  }
  if ((type == "input_audio" || type == "file") && role == "user") {
    return unsupported(dot(path, "type"), "'" + std::string(type) + "' content is not supported.");
  }
  return bad_value(dot(path, "type"), "content part type '" + std::string(type) +
                                          "' is not allowed in " + std::string(role) +
                                          " messages.");
}

// `content`: a string or a non-empty array of parts; absent or null only for assistants.
Status check_content(const Value& msg, const std::string& path, std::string_view role,
                     Message& out) {
  const std::string param = dot(path, "content");
  const Value* content = opt(msg, "content");
  if (content == nullptr) {
    return role == "assistant" ? ok_status() : missing(param);
  }
  if (content->IsString()) {
    out.form = ContentForm::kString;
    out.parts.push_back(Part{PartKind::kText, std::string(as_view(*content)), {}});
    return ok_status();
  }
  if (!content->IsArray()) {
    return bad_type(param, "one of a string or array of objects", *content);
  }
  if (content->Empty()) return bad_value(param, "expected an array with at least one part.");
  out.form = ContentForm::kParts;
  out.parts.reserve(content->Size());
  for (rapidjson::SizeType j = 0; j < content->Size(); ++j) {
    if (Status s = check_part((*content)[j], at(param, j), role, out.parts); !s.ok()) return s;
  }
  return ok_status();
}

// One assistant tool call: {id, type: "function", function: {name, arguments}}.
Status check_tool_call(const Value& call, const std::string& path, std::vector<ToolCall>& out) {
  if (!call.IsObject()) return bad_type(path, "an object", call);
  std::string_view id, name, arguments;
  if (Status s = require_string(call, path, "id", &id); !s.ok()) return s;
  std::string_view type;
  if (Status s = require_type(call, path, &type); !s.ok()) return s;
  if (type == "custom")
    return unsupported(dot(path, "type"), "custom tool calls are not supported.");
  if (type != "function") return bad_value(dot(path, "type"), "expected 'function'.");
  const std::string fn_path = dot(path, "function");
  const Value* fn = opt(call, "function");
  if (fn == nullptr) return missing(fn_path);
  if (!fn->IsObject()) return bad_type(fn_path, "an object", *fn);
  if (Status s = require_string(*fn, fn_path, "name", &name); !s.ok()) return s;
  if (Status s = require_string(*fn, fn_path, "arguments", &arguments); !s.ok()) return s;
  out.push_back(ToolCall{std::string(id), std::string(name), std::string(arguments)});
  return ok_status();
}

Status check_tool_calls(const Value& msg, const std::string& path, Message& out) {
  const std::string param = dot(path, "tool_calls");
  const Value* calls = opt(msg, "tool_calls");
  if (calls == nullptr) return ok_status();
  if (!calls->IsArray()) return bad_type(param, "an array", *calls);
  for (rapidjson::SizeType j = 0; j < calls->Size(); ++j) {
    if (Status s = check_tool_call((*calls)[j], at(param, j), out.tool_calls); !s.ok()) return s;
  }
  return ok_status();
}

std::optional<Role> role_of(std::string_view role) {
  if (role == "system") return Role::kSystem;
  if (role == "developer") return Role::kDeveloper;
  if (role == "user") return Role::kUser;
  if (role == "assistant") return Role::kAssistant;
  if (role == "tool") return Role::kTool;
  return std::nullopt;
}

Status check_message(const Value& msg, const std::string& path, Message& out) {
  if (!msg.IsObject()) return bad_type(path, "an object", msg);
  std::string_view role;
  if (Status s = require_string(msg, path, "role", &role); !s.ok()) return s;
  if (role == "function") {
    return unsupported(dot(path, "role"), "'function' messages are deprecated; use 'tool'.");
  }
  const std::optional<Role> r = role_of(role);
  if (!r) {
    return bad_value(dot(path, "role"),
                     "supported values are 'system', 'developer', 'user', 'assistant' and "
                     "'tool'.");
  }
  out.role = *r;
  if (Status s = optional_string(msg, path, "name"); !s.ok()) return s;
  out.name = std::string(json_string(msg, "name"));
  if (Status s = check_content(msg, path, role, out); !s.ok()) return s;
  if (*r == Role::kTool) {
    std::string_view id;
    if (Status s = require_string(msg, path, "tool_call_id", &id); !s.ok()) return s;
    out.tool_call_id = std::string(id);
  }
  if (*r != Role::kAssistant) return ok_status();
  if (const Value* reasoning = opt(msg, "reasoning_content"); json_is_string(reasoning)) {
    out.reasoning = std::string(as_view(*reasoning));
  }
  return check_tool_calls(msg, path, out);
}

Status check_model(const Value& body, CanonicalRequest& req) {
  const Value* model = opt(body, "model");
  if (model == nullptr) return missing("model");
  if (!model->IsString()) return bad_type("model", "a string", *model);
  if (model->GetStringLength() == 0) return bad_value("model", "must not be empty.");
  req.model = std::string(as_view(*model));
  return ok_status();
}

Status check_messages(const Value& body, CanonicalRequest& req) {
  const Value* messages = opt(body, "messages");
  if (messages == nullptr) return missing("messages");
  if (!messages->IsArray()) return bad_type("messages", "an array", *messages);
  if (messages->Empty())
    return bad_value("messages", "expected an array with at least one message.");
  req.messages.resize(messages->Size());
  for (rapidjson::SizeType i = 0; i < messages->Size(); ++i) {
    if (Status s = check_message((*messages)[i], at("messages", i), req.messages[i]); !s.ok()) {
      return s;
    }
  }
  return ok_status();
}

Status check_stream(const Value& body, CanonicalRequest& req) {
  if (Status s = optional_bool(body, "stream", "stream", &req.stream); !s.ok()) return s;
  const Value* options = opt(body, "stream_options");
  if (options == nullptr) return ok_status();
  if (!options->IsObject()) return bad_type("stream_options", "an object", *options);
  return optional_bool(*options, "include_usage", "stream_options.include_usage",
                       &req.include_usage);
}

// A number in [lo, hi] (`temperature`, `top_p`).
Status check_range(const Value& body, std::string_view key, int lo, int hi,
                   std::optional<double>& out) {
  const Value* v = opt(body, key);
  if (v == nullptr) return ok_status();
  if (!v->IsNumber()) return bad_type(std::string(key), "a number", *v);
  const double d = v->GetDouble();
  if (d < lo || d > hi) {
    return bad_value(std::string(key), "expected a number between " + std::to_string(lo) + " and " +
                                           std::to_string(hi) + ".");
  }
  out = d;
  return ok_status();
}

// An integer in [lo, hi] (`max_tokens`, `max_completion_tokens`, `n`).
Status check_integer(const Value& body, std::string_view key, int64_t lo, int64_t hi,
                     std::optional<int64_t>& out) {
  const Value* v = opt(body, key);
  if (v == nullptr) return ok_status();
  if (!v->IsInt64()) {
    if (v->IsUint64()) return bad_value(std::string(key), "integer too large.");
    return bad_type(std::string(key), "an integer", *v);
  }
  const int64_t n = v->GetInt64();
  if (n < lo || n > hi) {
    return bad_value(std::string(key), "expected an integer between " + std::to_string(lo) +
                                           " and " + std::to_string(hi) + ".");
  }
  out = n;
  return ok_status();
}

Status check_sampling(const Value& body, CanonicalRequest& req) {
  if (Status s = check_range(body, "temperature", 0, 2, req.temperature); !s.ok()) return s;
  if (Status s = check_range(body, "top_p", 0, 1, req.top_p); !s.ok()) return s;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::optional<int64_t> max_tokens;
  std::optional<int64_t> max_completion;
  if (Status s = check_integer(body, "max_tokens", 1, kMax, max_tokens); !s.ok()) return s;
  if (Status s = check_integer(body, "max_completion_tokens", 1, kMax, max_completion); !s.ok()) {
    return s;
  }
  req.max_tokens = max_completion ? max_completion : max_tokens;
  std::optional<int64_t> n;
  if (Status s = check_integer(body, "n", 1, 128, n); !s.ok()) return s;
  req.n = n.value_or(1);
  return optional_bool(body, "logprobs", "logprobs", &req.logprobs);
}

// `stop`: a string or an array of 1..4 strings, none empty.
Status check_stop(const Value& body, CanonicalRequest& req) {
  const Value* stop = opt(body, "stop");
  if (stop == nullptr) return ok_status();
  if (stop->IsString()) {
    if (stop->GetStringLength() == 0) return bad_value("stop", "stop strings must not be empty.");
    req.stop.emplace_back(as_view(*stop));
    return ok_status();
  }
  if (!stop->IsArray()) return bad_type("stop", "one of a string or array of strings", *stop);
  if (stop->Empty() || stop->Size() > 4) {
    return bad_value("stop", "expected an array of 1 to 4 strings.");
  }
  for (rapidjson::SizeType i = 0; i < stop->Size(); ++i) {
    const Value& item = (*stop)[i];
    if (!item.IsString()) return bad_type(at("stop", i), "a string", item);
    if (item.GetStringLength() == 0) {
      return bad_value(at("stop", i), "stop strings must not be empty.");
    }
    req.stop.emplace_back(as_view(item));
  }
  return ok_status();
}

// ^[a-zA-Z0-9_-]{1,64}$
bool valid_function_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// {type: "function", function: {name, description?, parameters?, strict?}}
Status check_tool(const Value& tool, const std::string& path, std::vector<Tool>& out) {
  if (!tool.IsObject()) return bad_type(path, "an object", tool);
  std::string_view type;
  if (Status s = require_type(tool, path, &type); !s.ok()) return s;
  if (type == "custom") return unsupported(dot(path, "type"), "custom tools are not supported.");
  if (type != "function") return bad_value(dot(path, "type"), "expected 'function'.");
  const std::string fn_path = dot(path, "function");
  const Value* fn = opt(tool, "function");
  if (fn == nullptr) return missing(fn_path);
  if (!fn->IsObject()) return bad_type(fn_path, "an object", *fn);
  std::string_view name;
  if (Status s = require_string(*fn, fn_path, "name", &name); !s.ok()) return s;
  if (!valid_function_name(name)) {
    return bad_value(dot(fn_path, "name"),
                     "expected a name of 1 to 64 characters a-z, A-Z, 0-9, '_' or '-'.");
  }
  if (Status s = optional_string(*fn, fn_path, "description"); !s.ok()) return s;
  const Value* params = opt(*fn, "parameters");
  if (params != nullptr && !params->IsObject()) {
    return bad_type(dot(fn_path, "parameters"), "an object", *params);
  }
  Tool t;
  t.name = std::string(name);
  if (const Value* d = opt(*fn, "description")) t.description = std::string(as_view(*d));
  if (params != nullptr) t.parameters = json_dump(*params);
  bool strict = false;
  if (Status s = optional_bool(*fn, "strict", dot(fn_path, "strict"), &strict); !s.ok()) return s;
  if (opt(*fn, "strict") != nullptr) t.strict = strict;
  out.push_back(std::move(t));
  return ok_status();
}

Status check_tools(const Value& body, CanonicalRequest& req) {
  const Value* tools = opt(body, "tools");
  if (tools == nullptr) return ok_status();
  if (!tools->IsArray()) return bad_type("tools", "an array", *tools);
  for (rapidjson::SizeType i = 0; i < tools->Size(); ++i) {
    if (Status s = check_tool((*tools)[i], at("tools", i), req.tools); !s.ok()) return s;
  }
  return ok_status();
}

// "none" | "auto" | "required" | {type: "function", function: {name}}.
Status check_tool_choice(const Value& body, CanonicalRequest& req) {
  const Value* choice = opt(body, "tool_choice");
  if (choice == nullptr) return ok_status();
  if (choice->IsString()) {
    const std::string_view v = as_view(*choice);
    if (!one_of(v, {"none", "auto", "required"})) {
      return bad_value("tool_choice", "supported values are 'none', 'auto' and 'required'.");
    }
    req.tool_choice = v == "none"   ? ToolChoice::kNone
                      : v == "auto" ? ToolChoice::kAuto
                                    : ToolChoice::kRequired;
    return ok_status();
  }
  if (!choice->IsObject()) return bad_type("tool_choice", "one of a string or object", *choice);
  std::string_view type;
  if (Status s = require_type(*choice, "tool_choice", &type); !s.ok()) return s;
  if (type == "allowed_tools" || type == "custom") {
    return unsupported("tool_choice.type", "'" + std::string(type) + "' is not supported.");
  }
  if (type != "function") return bad_value("tool_choice.type", "expected 'function'.");
  const Value* fn = opt(*choice, "function");
  if (fn == nullptr) return missing("tool_choice.function");
  if (!fn->IsObject()) return bad_type("tool_choice.function", "an object", *fn);
  if (Status s = require_string(*fn, "tool_choice.function", "name"); !s.ok()) return s;
  req.tool_choice = ToolChoice::kFunction;
  return ok_status();
}

// reasoning_effort and thinking; `thinking.type` decides over the effort.
Status check_reasoning(const Value& body, CanonicalRequest& req) {
  if (const Value* effort = opt(body, "reasoning_effort"); effort != nullptr) {
    if (!effort->IsString()) return bad_type("reasoning_effort", "a string", *effort);
    const std::string_view v = as_view(*effort);
    if (!one_of(v, {"none", "minimal", "low", "medium", "high"})) {
      return bad_value("reasoning_effort",
                       "supported values are 'none', 'minimal', 'low', 'medium' and 'high'.");
    }
    req.reasoning_effort = std::string(v);
    const bool off = v == "none" || v == "minimal";
    req.thinking = off ? ThinkingSwitch::kDisabled : ThinkingSwitch::kEnabled;
  }
  const Value* thinking = opt(body, "thinking");
  if (thinking == nullptr) return ok_status();
  if (!thinking->IsObject()) return bad_type("thinking", "an object", *thinking);
  std::string_view type;
  if (Status s = require_type(*thinking, "thinking", &type); !s.ok()) return s;
  if (!one_of(type, {"enabled", "disabled"})) {
    return bad_value("thinking.type", "supported values are 'enabled' and 'disabled'.");
  }
  req.thinking = type == "enabled" ? ThinkingSwitch::kEnabled : ThinkingSwitch::kDisabled;
  return ok_status();
}

Status check_misc(const Value& body, CanonicalRequest& req) {
  if (Status s = optional_string(body, {}, "user"); !s.ok()) return s;
  req.user = std::string(json_string(body, "user"));
  const Value* format = opt(body, "response_format");
  if (format == nullptr) return ok_status();
  if (!format->IsObject()) return bad_type("response_format", "an object", *format);
  std::string_view type;
  if (Status s = require_type(*format, "response_format", &type); !s.ok()) return s;
  if (!one_of(type, {"text", "json_object", "json_schema"})) {
    return bad_value("response_format.type",
                     "supported values are 'text', 'json_object' and 'json_schema'.");
  }
  if (type == "json_schema") {
    const Value* schema = opt(*format, "json_schema");
    if (schema == nullptr) return missing("response_format.json_schema");
    if (!schema->IsObject()) return bad_type("response_format.json_schema", "an object", *schema);
  }
  req.response_format = type == "text"          ? ResponseFormat::kText
                        : type == "json_object" ? ResponseFormat::kJsonObject
                                                : ResponseFormat::kJsonSchema;
  return ok_status();
}

}  // namespace

Result<CanonicalRequest> parse_chat_request(std::string_view body) {
  // In place: the message texts, most of a large body, are not copied again.
  Result<JsonInPlace> parsed = parse_json_in_place(body);
  if (!parsed.ok()) {
    Error e = std::move(parsed).error();
    if (e.code == Errc::kRequestTooLarge) {
      e.message =
          "Request body holds more than " + std::to_string(kDefaultJsonMaxValues) + " JSON values";
    }
    return e;
  }
  if (!parsed->doc.IsObject()) {
    return make_error(Errc::kInvalidJson, "The request body must be a JSON object.");
  }
  CanonicalRequest req;
  req.text_bytes = body.size();
  using Check = Status (*)(const Value&, CanonicalRequest&);
  constexpr Check kChecks[] = {check_model,       check_messages,  check_stream,
                               check_sampling,    check_stop,      check_tools,
                               check_tool_choice, check_reasoning, check_misc};
  for (Check check : kChecks) {
    if (Status s = check(parsed->doc, req); !s.ok()) return std::move(s).error();
  }
  return req;
}

}  // namespace zproxy
