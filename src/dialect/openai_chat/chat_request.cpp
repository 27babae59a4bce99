#include "dialect/openai_chat/chat_request.h"

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <utility>

#include "core/ascii.h"
#include "json/json.h"

namespace zproxy {
namespace {

// Messages follow OpenAI's wording; `param` is the JSON path OpenAI would name, e.g.
// "messages[1].content[0].image_url.url".

std::string_view type_name(JsonValue v) {
  if (v.is_null()) return "null";
  if (v.is_bool()) return "a boolean";
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_string()) return "a string";
  if (v.int64() || v.uint64()) return "an integer";
  return "a decimal";
}

Error missing(std::string param) {
  std::string message = "Missing required parameter: '" + param + "'.";
  return make_error(Errc::kMissingRequiredParameter, std::move(message), std::move(param));
}

Error bad_type(std::string param, std::string_view expected, JsonValue got) {
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

// The member `key` of `obj`, absent when missing or JSON null (null means absent).
JsonValue opt(JsonValue obj, std::string_view key) {
  const JsonValue v = obj.member(key);
  return v.is_null() ? JsonValue() : v;
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
Status require_string(JsonValue obj, std::string_view base, std::string_view key,
                      std::string_view* out = nullptr) {
  JsonValue v = opt(obj, key);
  if (!v) return missing(dot(base, key));
  if (!v.is_string()) return bad_type(dot(base, key), "a string", v);
  if (out != nullptr) *out = v.string();
  return ok_status();
}

// An optional member of a given JSON type; absent and null are fine.
Status optional_string(JsonValue obj, std::string_view base, std::string_view key) {
  JsonValue v = opt(obj, key);
  if (v && !v.is_string()) return bad_type(dot(base, key), "a string", v);
  return ok_status();
}

Status optional_bool(JsonValue obj, std::string_view key, std::string param, bool* out) {
  JsonValue v = opt(obj, key);
  if (!v) return ok_status();
  if (!v.is_bool()) return bad_type(std::move(param), "a boolean", v);
  *out = *v.boolean();
  return ok_status();
}

// The `type` member every tagged union carries (content parts, tools, tool calls, formats).
Status require_type(JsonValue obj, const std::string& base, std::string_view* out) {
  return require_string(obj, base, "type", out);
}

Status check_part(JsonValue part, const std::string& path, std::string_view role,
                  std::vector<Part>& out) {
  if (!part.is_object()) return bad_type(path, "an object", part);
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
    JsonValue image = opt(part, "image_url");
    if (!image) return missing(image_path);
    if (!image.is_object()) return bad_type(image_path, "an object", image);
    if (Status s = require_string(image, image_path, "url", &text); !s.ok()) return s;
    if (Status s = optional_string(image, image_path, "detail"); !s.ok()) return s;
    out.push_back(
        Part{PartKind::kImage, std::string(text), std::string(image.member("detail").string())});
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
Status check_content(JsonValue msg, const std::string& path, std::string_view role, Message& out) {
  const std::string param = dot(path, "content");
  JsonValue content = opt(msg, "content");
  if (!content) {
    return role == "assistant" ? ok_status() : missing(param);
  }
  if (content.is_string()) {
    out.form = ContentForm::kString;
    out.parts.push_back(Part{PartKind::kText, std::string(content.string()), {}});
    return ok_status();
  }
  if (!content.is_array()) {
    return bad_type(param, "one of a string or array of objects", content);
  }
  if (content.size() == 0) return bad_value(param, "expected an array with at least one part.");
  out.form = ContentForm::kParts;
  out.parts.reserve(content.size());
  for (size_t j = 0; j < content.size(); ++j) {
    if (Status s = check_part(content.element(j), at(param, j), role, out.parts); !s.ok()) return s;
  }
  return ok_status();
}

// One assistant tool call: {id, type: "function", function: {name, arguments}}.
Status check_tool_call(JsonValue call, const std::string& path, std::vector<ToolCall>& out) {
  if (!call.is_object()) return bad_type(path, "an object", call);
  std::string_view id, name, arguments;
  if (Status s = require_string(call, path, "id", &id); !s.ok()) return s;
  std::string_view type;
  if (Status s = require_type(call, path, &type); !s.ok()) return s;
  if (type == "custom")
    return unsupported(dot(path, "type"), "custom tool calls are not supported.");
  if (type != "function") return bad_value(dot(path, "type"), "expected 'function'.");
  const std::string fn_path = dot(path, "function");
  JsonValue fn = opt(call, "function");
  if (!fn) return missing(fn_path);
  if (!fn.is_object()) return bad_type(fn_path, "an object", fn);
  if (Status s = require_string(fn, fn_path, "name", &name); !s.ok()) return s;
  if (Status s = require_string(fn, fn_path, "arguments", &arguments); !s.ok()) return s;
  out.push_back(ToolCall{std::string(id), std::string(name), std::string(arguments)});
  return ok_status();
}

Status check_tool_calls(JsonValue msg, const std::string& path, Message& out) {
  const std::string param = dot(path, "tool_calls");
  JsonValue calls = opt(msg, "tool_calls");
  if (!calls) return ok_status();
  if (!calls.is_array()) return bad_type(param, "an array", calls);
  for (size_t j = 0; j < calls.size(); ++j) {
    if (Status s = check_tool_call(calls.element(j), at(param, j), out.tool_calls); !s.ok())
      return s;
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

Status check_message(JsonValue msg, const std::string& path, Message& out) {
  if (!msg.is_object()) return bad_type(path, "an object", msg);
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
  out.name = std::string(msg.member("name").string());
  if (Status s = check_content(msg, path, role, out); !s.ok()) return s;
  if (*r == Role::kTool) {
    std::string_view id;
    if (Status s = require_string(msg, path, "tool_call_id", &id); !s.ok()) return s;
    out.tool_call_id = std::string(id);
  }
  if (*r != Role::kAssistant) return ok_status();
  if (JsonValue reasoning = opt(msg, "reasoning_content"); reasoning.is_string()) {
    out.reasoning = std::string(reasoning.string());
  }
  return check_tool_calls(msg, path, out);
}

Status check_model(JsonValue body, CanonicalRequest& req) {
  JsonValue model = opt(body, "model");
  if (!model) return missing("model");
  if (!model.is_string()) return bad_type("model", "a string", model);
  if (model.string().empty()) return bad_value("model", "must not be empty.");
  req.model = std::string(model.string());
  return ok_status();
}

Status check_messages(JsonValue body, CanonicalRequest& req) {
  JsonValue messages = opt(body, "messages");
  if (!messages) return missing("messages");
  if (!messages.is_array()) return bad_type("messages", "an array", messages);
  if (messages.size() == 0)
    return bad_value("messages", "expected an array with at least one message.");
  req.messages.resize(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    if (Status s = check_message(messages.element(i), at("messages", i), req.messages[i]);
        !s.ok()) {
      return s;
    }
  }
  return ok_status();
}

Status check_stream(JsonValue body, CanonicalRequest& req) {
  if (Status s = optional_bool(body, "stream", "stream", &req.stream); !s.ok()) return s;
  JsonValue options = opt(body, "stream_options");
  if (!options) return ok_status();
  if (!options.is_object()) return bad_type("stream_options", "an object", options);
  return optional_bool(options, "include_usage", "stream_options.include_usage",
                       &req.include_usage);
}

// A number in [lo, hi] (`temperature`, `top_p`).
Status check_range(JsonValue body, std::string_view key, int lo, int hi,
                   std::optional<double>& out) {
  JsonValue v = opt(body, key);
  if (!v) return ok_status();
  if (!v.is_number()) return bad_type(std::string(key), "a number", v);
  const double d = *v.number();
  if (d < lo || d > hi) {
    return bad_value(std::string(key), "expected a number between " + std::to_string(lo) + " and " +
                                           std::to_string(hi) + ".");
  }
  out = d;
  return ok_status();
}

// An integer in [lo, hi] (`max_tokens`, `max_completion_tokens`, `n`).
Status check_integer(JsonValue body, std::string_view key, int64_t lo, int64_t hi,
                     std::optional<int64_t>& out) {
  JsonValue v = opt(body, key);
  if (!v) return ok_status();
  if (!v.int64()) {
    if (v.uint64()) return bad_value(std::string(key), "integer too large.");
    return bad_type(std::string(key), "an integer", v);
  }
  const int64_t n = *v.int64();
  if (n < lo || n > hi) {
    return bad_value(std::string(key), "expected an integer between " + std::to_string(lo) +
                                           " and " + std::to_string(hi) + ".");
  }
  out = n;
  return ok_status();
}

Status check_sampling(JsonValue body, CanonicalRequest& req) {
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
Status check_stop(JsonValue body, CanonicalRequest& req) {
  JsonValue stop = opt(body, "stop");
  if (!stop) return ok_status();
  if (stop.is_string()) {
    if (stop.string().empty()) return bad_value("stop", "stop strings must not be empty.");
    req.stop.emplace_back(stop.string());
    return ok_status();
  }
  if (!stop.is_array()) return bad_type("stop", "one of a string or array of strings", stop);
  if (stop.size() == 0 || stop.size() > 4) {
    return bad_value("stop", "expected an array of 1 to 4 strings.");
  }
  for (size_t i = 0; i < stop.size(); ++i) {
    JsonValue item = stop.element(i);
    if (!item.is_string()) return bad_type(at("stop", i), "a string", item);
    if (item.string().empty()) {
      return bad_value(at("stop", i), "stop strings must not be empty.");
    }
    req.stop.emplace_back(item.string());
  }
  return ok_status();
}

// ^[a-zA-Z0-9_-]{1,64}$
bool valid_function_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && only_alnum_or(name, "_-");
}

// {type: "function", function: {name, description?, parameters?, strict?}}
Status check_tool(JsonValue tool, const std::string& path, std::vector<Tool>& out) {
  if (!tool.is_object()) return bad_type(path, "an object", tool);
  std::string_view type;
  if (Status s = require_type(tool, path, &type); !s.ok()) return s;
  if (type == "custom") return unsupported(dot(path, "type"), "custom tools are not supported.");
  if (type != "function") return bad_value(dot(path, "type"), "expected 'function'.");
  const std::string fn_path = dot(path, "function");
  JsonValue fn = opt(tool, "function");
  if (!fn) return missing(fn_path);
  if (!fn.is_object()) return bad_type(fn_path, "an object", fn);
  std::string_view name;
  if (Status s = require_string(fn, fn_path, "name", &name); !s.ok()) return s;
  if (!valid_function_name(name)) {
    return bad_value(dot(fn_path, "name"),
                     "expected a name of 1 to 64 characters a-z, A-Z, 0-9, '_' or '-'.");
  }
  if (Status s = optional_string(fn, fn_path, "description"); !s.ok()) return s;
  JsonValue params = opt(fn, "parameters");
  if (params && !params.is_object()) {
    return bad_type(dot(fn_path, "parameters"), "an object", params);
  }
  Tool t;
  t.name = std::string(name);
  if (JsonValue d = opt(fn, "description")) t.description = std::string(d.string());
  if (params) t.parameters = json_dump(params);
  bool strict = false;
  if (Status s = optional_bool(fn, "strict", dot(fn_path, "strict"), &strict); !s.ok()) return s;
  if (opt(fn, "strict")) t.strict = strict;
  out.push_back(std::move(t));
  return ok_status();
}

Status check_tools(JsonValue body, CanonicalRequest& req) {
  JsonValue tools = opt(body, "tools");
  if (!tools) return ok_status();
  if (!tools.is_array()) return bad_type("tools", "an array", tools);
  for (size_t i = 0; i < tools.size(); ++i) {
    if (Status s = check_tool(tools.element(i), at("tools", i), req.tools); !s.ok()) return s;
  }
  return ok_status();
}

// "none" | "auto" | "required" | {type: "function", function: {name}}.
Status check_tool_choice(JsonValue body, CanonicalRequest& req) {
  JsonValue choice = opt(body, "tool_choice");
  if (!choice) return ok_status();
  if (choice.is_string()) {
    const std::string_view v = choice.string();
    if (!one_of(v, {"none", "auto", "required"})) {
      return bad_value("tool_choice", "supported values are 'none', 'auto' and 'required'.");
    }
    req.tool_choice = v == "none"   ? ToolChoice::kNone
                      : v == "auto" ? ToolChoice::kAuto
                                    : ToolChoice::kRequired;
    return ok_status();
  }
  if (!choice.is_object()) return bad_type("tool_choice", "one of a string or object", choice);
  std::string_view type;
  if (Status s = require_type(choice, "tool_choice", &type); !s.ok()) return s;
  if (type == "allowed_tools" || type == "custom") {
    return unsupported("tool_choice.type", "'" + std::string(type) + "' is not supported.");
  }
  if (type != "function") return bad_value("tool_choice.type", "expected 'function'.");
  JsonValue fn = opt(choice, "function");
  if (!fn) return missing("tool_choice.function");
  if (!fn.is_object()) return bad_type("tool_choice.function", "an object", fn);
  if (Status s = require_string(fn, "tool_choice.function", "name"); !s.ok()) return s;
  req.tool_choice = ToolChoice::kFunction;
  return ok_status();
}

// reasoning_effort and thinking; `thinking.type` decides over the effort.
Status check_reasoning(JsonValue body, CanonicalRequest& req) {
  if (JsonValue effort = opt(body, "reasoning_effort"); effort) {
    if (!effort.is_string()) return bad_type("reasoning_effort", "a string", effort);
    const std::string_view v = effort.string();
    if (!one_of(v, {"none", "minimal", "low", "medium", "high", "xhigh", "max"})) {
      return bad_value("reasoning_effort",
                       "supported values are 'none', 'minimal', 'low', 'medium', 'high', 'xhigh' "
                       "and 'max'.");
    }
    req.reasoning_effort = std::string(v);
    const bool off = v == "none" || v == "minimal";
    req.thinking = off ? ThinkingSwitch::kDisabled : ThinkingSwitch::kEnabled;
  }
  JsonValue thinking = opt(body, "thinking");
  if (!thinking) return ok_status();
  if (!thinking.is_object()) return bad_type("thinking", "an object", thinking);
  std::string_view type;
  if (Status s = require_type(thinking, "thinking", &type); !s.ok()) return s;
  if (!one_of(type, {"enabled", "disabled"})) {
    return bad_value("thinking.type", "supported values are 'enabled' and 'disabled'.");
  }
  req.thinking = type == "enabled" ? ThinkingSwitch::kEnabled : ThinkingSwitch::kDisabled;
  return ok_status();
}

Status check_misc(JsonValue body, CanonicalRequest& req) {
  req.web_search = static_cast<bool>(opt(body, "web_search_options"));
  if (Status s = optional_string(body, {}, "user"); !s.ok()) return s;
  req.user = std::string(body.member("user").string());
  JsonValue format = opt(body, "response_format");
  if (!format) return ok_status();
  if (!format.is_object()) return bad_type("response_format", "an object", format);
  std::string_view type;
  if (Status s = require_type(format, "response_format", &type); !s.ok()) return s;
  if (!one_of(type, {"text", "json_object", "json_schema"})) {
    return bad_value("response_format.type",
                     "supported values are 'text', 'json_object' and 'json_schema'.");
  }
  if (type == "json_schema") {
    JsonValue schema = opt(format, "json_schema");
    if (!schema) return missing("response_format.json_schema");
    if (!schema.is_object()) return bad_type("response_format.json_schema", "an object", schema);
    if (JsonValue inner = opt(schema, "schema"); inner.is_object()) {
      req.json_schema = json_dump(inner);
    }
  }
  req.response_format = type == "text"          ? ResponseFormat::kText
                        : type == "json_object" ? ResponseFormat::kJsonObject
                                                : ResponseFormat::kJsonSchema;
  return ok_status();
}

}  // namespace

Result<CanonicalRequest> parse_chat_request(std::string_view body) {
  // In place: strings are unescaped where they lie in the document's copy of the body, not
  // copied again into the document (the message texts are most of a large body).
  Result<JsonDocument> parsed = parse_json_in_place(body);
  if (!parsed.ok()) {
    Error e = std::move(parsed).error();
    if (e.code == Errc::kRequestTooLarge) {
      e.message =
          "Request body holds more than " + std::to_string(kDefaultJsonMaxValues) + " JSON values";
    }
    return e;
  }
  if (!parsed->is_object()) {
    return make_error(Errc::kInvalidJson, "The request body must be a JSON object.");
  }
  CanonicalRequest req;
  req.text_bytes = body.size();
  using Check = Status (*)(JsonValue, CanonicalRequest&);
  constexpr Check kChecks[] = {check_model,       check_messages,  check_stream,
                               check_sampling,    check_stop,      check_tools,
                               check_tool_choice, check_reasoning, check_misc};
  for (Check check : kChecks) {
    if (Status s = check(*parsed, req); !s.ok()) return std::move(s).error();
  }
  return req;
}

}  // namespace zproxy
