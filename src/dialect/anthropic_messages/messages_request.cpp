#include "dialect/anthropic_messages/messages_request.h"

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <utility>

#include "core/ascii.h"
#include "core/sha256.h"
#include "json/json.h"

namespace zproxy {
namespace {

// Paths are Anthropic's: "messages.2.content.0.source"; every message starts "<path>: ".

std::string_view type_name(JsonValue v) {
  if (v.is_null()) return "null";
  if (v.is_bool()) return "boolean";
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  return "number";
}

Error fail(Errc code, std::string path, std::string_view why) {
  std::string message = path + ": " + std::string(why);
  return make_error(code, std::move(message), std::move(path));
}

Error missing(std::string path) {
  return fail(Errc::kMissingRequiredParameter, path, "Field required");
}

Error bad_type(std::string path, std::string_view expected, JsonValue got) {
  return fail(Errc::kInvalidValue, std::move(path),
              "Input should be " + std::string(expected) + ", got " + std::string(type_name(got)));
}

Error bad_value(std::string path, std::string_view why) {
  return fail(Errc::kInvalidValue, std::move(path), why);
}

Error unsupported(std::string path, std::string_view why) {
  return fail(Errc::kUnsupportedValue, std::move(path), why);
}

// The member `key` of `obj`, absent when missing or JSON null (null means absent).
JsonValue opt(JsonValue obj, std::string_view key) {
  const JsonValue v = obj.member(key);
  return v.is_null() ? JsonValue() : v;
}

std::string dot(std::string_view base, std::string_view key) {
  return base.empty() ? std::string(key) : std::string(base) + "." + std::string(key);
}

std::string dot(std::string_view base, size_t index) {
  return dot(base, std::to_string(index));
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> options) {
  return std::find(options.begin(), options.end(), v) != options.end();
}

Status require_string(JsonValue obj, std::string_view base, std::string_view key,
                      std::string_view* out) {
  JsonValue v = opt(obj, key);
  if (!v) return missing(dot(base, key));
  if (!v.is_string()) return bad_type(dot(base, key), "a valid string", v);
  *out = v.string();
  return ok_status();
}

// An optional string member; `out` is left alone when absent.
Status optional_string(JsonValue obj, std::string_view base, std::string_view key,
                       std::string_view* out) {
  JsonValue v = opt(obj, key);
  if (!v) return ok_status();
  if (!v.is_string()) return bad_type(dot(base, key), "a valid string", v);
  *out = v.string();
  return ok_status();
}

// An object member that must be present.
Status require_object(JsonValue obj, std::string_view base, std::string_view key, JsonValue* out) {
  JsonValue v = opt(obj, key);
  if (!v) return missing(dot(base, key));
  if (!v.is_object()) return bad_type(dot(base, key), "a valid dictionary", v);
  *out = v;
  return ok_status();
}

// Code points of UTF-8 text (the estimate's C).
int64_t code_points(std::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

// What parsing one body builds beside the canonical request.
struct Parse {
  MessagesRequest out;
  int64_t chars = 0;   // C
  int64_t images = 0;  // I
};

// A text block {type:"text", text}; its text is appended to `out`.
Status text_of(JsonValue block, const std::string& path, std::string_view* out) {
  return require_string(block, path, "text", out);
}

// image source: {type:"base64", media_type: png|jpeg, data} or {type:"url", url}.
Status image_part(JsonValue block, const std::string& path, Parse& p, std::vector<Part>& out) {
  const std::string src_path = dot(path, "source");
  JsonValue src;
  if (Status s = require_object(block, path, "source", &src); !s.ok()) return s;
  std::string_view type, value;
  if (Status s = require_string(src, src_path, "type", &type); !s.ok()) return s;
  if (type == "url") {
    if (Status s = require_string(src, src_path, "url", &value); !s.ok()) return s;
    out.push_back(Part{PartKind::kImage, std::string(value), {}});
  } else if (type == "base64") {
    std::string_view media;
    if (Status s = require_string(src, src_path, "media_type", &media); !s.ok()) return s;
    if (!one_of(media, {"image/png", "image/jpeg"})) {
      return unsupported(dot(src_path, "media_type"),
                         "only 'image/png' and 'image/jpeg' images are supported");
    }
    if (Status s = require_string(src, src_path, "data", &value); !s.ok()) return s;
    out.push_back(
        Part{PartKind::kImage, "data:" + std::string(media) + ";base64," + std::string(value), {}});
  } else {
    return unsupported(dot(src_path, "type"), "image sources are 'base64' or 'url'");
  }
  if (p.images++ == 0) p.out.canonical.image_path = path;
  return ok_status();
}

std::string_view block_type(JsonValue block, const std::string& path, Status& status) {
  std::string_view type;
  if (!block.is_object()) {
    status = bad_type(path, "a valid dictionary", block);
  } else {
    status = require_string(block, path, "type", &type);
  }
  return type;
}

// tool_result content: a string, or blocks text | image | tool_reference.
Status tool_result(JsonValue block, const std::string& path, Parse& p, Message& tool,
                   std::vector<Part>& images) {
  std::string_view id;
  if (Status s = require_string(block, path, "tool_use_id", &id); !s.ok()) return s;
  tool.role = Role::kTool;
  tool.form = ContentForm::kString;
  tool.tool_call_id = std::string(id);
  std::string text;
  JsonValue content = opt(block, "content");
  const std::string cpath = dot(path, "content");
  if (content && content.is_string()) {
    text = std::string(content.string());
  } else if (content) {
    if (!content.is_array()) return bad_type(cpath, "a valid string or list", content);
    for (size_t k = 0; k < content.size(); ++k) {
      const std::string bpath = dot(cpath, k);
      Status s = ok_status();
      const std::string_view type = block_type(content.element(k), bpath, s);
      if (!s.ok()) return s;
      std::string_view piece;
      if (type == "text") {
        if (s = text_of(content.element(k), bpath, &piece); !s.ok()) return s;
      } else if (type == "image") {
        if (s = image_part(content.element(k), bpath, p, images); !s.ok()) return s;
        continue;
      } else if (type == "tool_reference") {
        std::string_view name;
        if (s = require_string(content.element(k), bpath, "tool_name", &name); !s.ok()) return s;
        if (!text.empty()) text += '\n';
        text += "tool_reference: " + std::string(name);
        continue;
      } else {
        return unsupported(dot(bpath, "type"),
                           "'" + std::string(type) + "' blocks are not supported in tool results");
      }
      if (!text.empty()) text += '\n';
      text += piece;
    }
  }
  p.chars += code_points(text);
  tool.parts.push_back(Part{PartKind::kText, std::move(text), {}});
  return ok_status();
}

// tool_use {id, name, input: object} in an assistant message.
Status tool_use(JsonValue block, const std::string& path, Parse& p, Message& msg) {
  std::string_view id, name;
  if (Status s = require_string(block, path, "id", &id); !s.ok()) return s;
  if (Status s = require_string(block, path, "name", &name); !s.ok()) return s;
  JsonValue input;
  if (Status s = require_object(block, path, "input", &input); !s.ok()) return s;
  std::string arguments = json_dump(input);
  p.chars += code_points(arguments);
  msg.tool_calls.push_back(ToolCall{std::string(id), std::string(name), std::move(arguments)});
  return ok_status();
}

// The messages one Anthropic message becomes (more than one when it carries tool results).
struct Turn {
  std::vector<Message> before;  // tool messages and their image messages, in block order
  Message msg;                  // the rest of the turn; dropped when it holds nothing
};

Status content_block(JsonValue block, const std::string& path, Parse& p, Turn& turn) {
  Status s = ok_status();
  const std::string_view type = block_type(block, path, s);
  if (!s.ok()) return s;
  const Role role = turn.msg.role;
  std::string_view text;
  if (type == "text") {
    if (s = text_of(block, path, &text); !s.ok()) return s;
    p.chars += code_points(text);
    turn.msg.parts.push_back(Part{PartKind::kText, std::string(text), {}});
    return ok_status();
  }
  if (type == "image" && role == Role::kUser) return image_part(block, path, p, turn.msg.parts);
  if (type == "tool_use" && role == Role::kAssistant) return tool_use(block, path, p, turn.msg);
  if (type == "tool_result" && role == Role::kUser) {
    Message tool;
    std::vector<Part> images;
    if (s = tool_result(block, path, p, tool, images); !s.ok()) return s;
    turn.before.push_back(std::move(tool));
    if (!images.empty()) {
      Message user;
      user.role = Role::kUser;
      user.form = ContentForm::kParts;
      user.parts = std::move(images);
      turn.before.push_back(std::move(user));
    }
    return ok_status();
  }
  if (type == "thinking" && role == Role::kAssistant) {
    if (s = require_string(block, path, "thinking", &text); !s.ok()) return s;
    p.chars += code_points(text);
    turn.msg.reasoning = turn.msg.reasoning.value_or("") + std::string(text);
    return ok_status();
  }
  if (type == "redacted_thinking" && role == Role::kAssistant) return ok_status();
  return unsupported(dot(path, "type"), "'" + std::string(type) + "' blocks are not supported in " +
                                            std::string(role_name(role)) + " messages");
}

Status one_message(JsonValue msg, const std::string& path, Parse& p, Turn& turn) {
  if (!msg.is_object()) return bad_type(path, "a valid dictionary", msg);
  std::string_view role;
  if (Status s = require_string(msg, path, "role", &role); !s.ok()) return s;
  if (!one_of(role, {"user", "assistant", "system"})) {
    return bad_value(dot(path, "role"), "Input should be 'user' or 'assistant'");
  }
  turn.msg.role = role == "user"        ? Role::kUser
                  : role == "assistant" ? Role::kAssistant
                                        : Role::kSystem;
  const std::string cpath = dot(path, "content");
  JsonValue content = opt(msg, "content");
  if (!content) return missing(cpath);
  if (content.is_string()) {
    p.chars += code_points(content.string());
    turn.msg.form = ContentForm::kString;
    turn.msg.parts.push_back(Part{PartKind::kText, std::string(content.string()), {}});
    return ok_status();
  }
  if (!content.is_array()) return bad_type(cpath, "a valid string or list", content);
  for (size_t j = 0; j < content.size(); ++j) {
    if (turn.msg.role == Role::kSystem) {
      const std::string bpath = dot(cpath, j);
      Status s = ok_status();
      const std::string_view type = block_type(content.element(j), bpath, s);
      if (!s.ok()) return s;
      if (type != "text") return unsupported(dot(bpath, "type"), "system content is text blocks");
    }
    if (Status s = content_block(content.element(j), dot(cpath, j), p, turn); !s.ok()) return s;
  }
  turn.msg.form = turn.msg.parts.empty() ? ContentForm::kNone : ContentForm::kParts;
  return ok_status();
}

Status check_messages(JsonValue body, Parse& p) {
  JsonValue messages = opt(body, "messages");
  if (!messages) return missing("messages");
  if (!messages.is_array()) return bad_type("messages", "a valid list", messages);
  if (messages.size() == 0) return bad_value("messages", "at least one message is required");
  std::vector<Message>& out = p.out.canonical.messages;
  for (size_t i = 0; i < messages.size(); ++i) {
    Turn turn;
    if (Status s = one_message(messages.element(i), dot("messages", i), p, turn); !s.ok()) return s;
    for (Message& m : turn.before) out.push_back(std::move(m));
    const bool empty =
        turn.msg.parts.empty() && turn.msg.tool_calls.empty() && !turn.msg.reasoning.has_value();
    if (!empty || turn.before.empty()) out.push_back(std::move(turn.msg));
  }
  return ok_status();
}

constexpr std::string_view kBillingPrefix = "x-anthropic-billing-header:";

// `system`: a string or text blocks, one leading system message joined with "\n\n".
Status check_system(JsonValue body, Parse& p) {
  JsonValue system = opt(body, "system");
  if (!system) return ok_status();
  std::string joined;
  if (system.is_string()) {
    joined = std::string(system.string());
  } else if (system.is_array()) {
    for (size_t i = 0; i < system.size(); ++i) {
      const std::string path = dot("system", i);
      Status s = ok_status();
      const std::string_view type = block_type(system.element(i), path, s);
      if (!s.ok()) return s;
      if (type != "text") return unsupported(dot(path, "type"), "system content is text blocks");
      std::string_view text;
      if (s = text_of(system.element(i), path, &text); !s.ok()) return s;
      if (text.substr(0, kBillingPrefix.size()) == kBillingPrefix) continue;
      if (!joined.empty()) joined += "\n\n";
      joined += text;
    }
  } else {
    return bad_type("system", "a valid string or list", system);
  }
  if (joined.empty()) return ok_status();
  p.chars += code_points(joined);
  std::vector<Message>& messages = p.out.canonical.messages;
  Message msg;
  msg.role = Role::kSystem;
  msg.form = ContentForm::kString;
  msg.parts.push_back(Part{PartKind::kText, std::move(joined), {}});
  messages.insert(messages.begin(), std::move(msg));
  return ok_status();
}

Status check_model(JsonValue body, Parse& p) {
  std::string_view model;
  if (Status s = require_string(body, "", "model", &model); !s.ok()) return s;
  if (model.empty()) return bad_value("model", "must not be empty");
  p.out.canonical.model = std::string(model);
  return ok_status();
}

Status check_number(JsonValue body, std::string_view key, double lo, double hi,
                    std::optional<double>& out) {
  JsonValue v = opt(body, key);
  if (!v) return ok_status();
  if (!v.is_number()) return bad_type(std::string(key), "a valid number", v);
  const double d = *v.number();
  if (d < lo || d > hi)
    return bad_value(std::string(key), "Input should be between 0 and " + std::to_string(int(hi)));
  out = d;
  return ok_status();
}

Status check_limits(JsonValue body, Parse& p, MessagesRoute route) {
  CanonicalRequest& req = p.out.canonical;
  JsonValue max = opt(body, "max_tokens");
  if (!max && route == MessagesRoute::kCreate) return missing("max_tokens");
  if (max) {
    if (!max.int64()) return bad_type("max_tokens", "a valid integer", max);
    if (*max.int64() < 0) return bad_value("max_tokens", "Input should be at least 0");
    req.max_tokens = *max.int64();
  }
  if (JsonValue stream = opt(body, "stream"); stream) {
    if (!stream.is_bool()) return bad_type("stream", "a valid boolean", stream);
    req.stream = *stream.boolean();
  }
  if (Status s = check_number(body, "temperature", 0, 2, req.temperature); !s.ok()) return s;
  if (Status s = check_number(body, "top_p", 0, 1, req.top_p); !s.ok()) return s;
  for (std::string_view key : {"top_k", "container", "mcp_servers"}) {
    if (opt(body, key)) return unsupported(std::string(key), "is not supported");
  }
  return ok_status();
}

// stop_sequences: at most 4 non-empty strings, enforced by the engine.
Status check_stop(JsonValue body, Parse& p) {
  JsonValue stop = opt(body, "stop_sequences");
  if (!stop) return ok_status();
  if (!stop.is_array()) return bad_type("stop_sequences", "a valid list", stop);
  if (stop.size() > 4) return bad_value("stop_sequences", "at most 4 stop sequences are supported");
  for (size_t i = 0; i < stop.size(); ++i) {
    JsonValue item = stop.element(i);
    if (!item.is_string()) return bad_type(dot("stop_sequences", i), "a valid string", item);
    if (item.string().empty()) {
      return bad_value(dot("stop_sequences", i), "stop sequences must not be empty");
    }
    p.out.canonical.stop.emplace_back(item.string());
  }
  return ok_status();
}

// ^[a-zA-Z0-9_-]{1,128}$ (names over 64 go upstream shortened: core/tool_names.h)
bool valid_tool_name(std::string_view name) {
  return !name.empty() && name.size() <= 128 && only_alnum_or(name, "_-");
}

// {type?: "custom", name, description?, input_schema}; server tools (another type) refused in
// the wording Claude Code's tool-rejection recovery matches.
Status one_tool(JsonValue tool, const std::string& path, Parse& p) {
  if (!tool.is_object()) return bad_type(path, "a valid dictionary", tool);
  std::string_view type = "custom", name, description;
  if (Status s = optional_string(tool, path, "type", &type); !s.ok()) return s;
  if (type != "custom") {
    return bad_value(dot(path, "type"), "Input tag '" + std::string(type) +
                                            "' found using 'type' does not match any of the "
                                            "expected tags: 'custom'");
  }
  if (Status s = require_string(tool, path, "name", &name); !s.ok()) return s;
  if (!valid_tool_name(name)) {
    return bad_value(dot(path, "name"), "String should match pattern '^[a-zA-Z0-9_-]{1,128}$'");
  }
  Tool t;
  t.name = std::string(name);
  const bool has_description = static_cast<bool>(opt(tool, "description"));
  if (Status s = optional_string(tool, path, "description", &description); !s.ok()) return s;
  if (has_description) t.description = std::string(description);
  JsonValue schema;
  if (Status s = require_object(tool, path, "input_schema", &schema); !s.ok()) return s;
  t.parameters = json_dump(schema);
  p.chars += code_points(t.name) + code_points(description) + code_points(t.parameters);
  p.out.canonical.tools.push_back(std::move(t));
  return ok_status();
}

Status check_tools(JsonValue body, Parse& p) {
  JsonValue tools = opt(body, "tools");
  if (!tools) return ok_status();
  if (!tools.is_array()) return bad_type("tools", "a valid list", tools);
  for (size_t i = 0; i < tools.size(); ++i) {
    if (Status s = one_tool(tools.element(i), dot("tools", i), p); !s.ok()) return s;
  }
  return ok_status();
}

// tool_choice {type: auto | none | any | tool}: auto and none pass; the others, and
// disable_parallel_tool_use:true, are refused (the chat rule: GLM cannot force a tool).
Status check_tool_choice(JsonValue body, Parse& p) {
  JsonValue choice = opt(body, "tool_choice");
  if (!choice) return ok_status();
  if (!choice.is_object()) return bad_type("tool_choice", "a valid dictionary", choice);
  std::string_view type;
  if (Status s = require_string(choice, "tool_choice", "type", &type); !s.ok()) return s;
  if (type == "any" || type == "tool") {
    return unsupported("tool_choice.type",
                       "'" + std::string(type) + "' is not supported; use 'auto' or 'none'");
  }
  if (type != "auto" && type != "none") {
    return bad_value("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'");
  }
  if (JsonValue d = opt(choice, "disable_parallel_tool_use"); d) {
    if (!d.is_bool())
      return bad_type("tool_choice.disable_parallel_tool_use", "a valid boolean", d);
    if (*d.boolean()) {
      return unsupported("tool_choice.disable_parallel_tool_use", "true is not supported");
    }
  }
  p.out.canonical.tool_choice = type == "auto" ? ToolChoice::kAuto : ToolChoice::kNone;
  return ok_status();
}

// thinking {type: enabled | adaptive | disabled, budget_tokens?, display?} and
// output_config.effort. Absent thinking is off.
Status check_thinking(JsonValue body, Parse& p) {
  CanonicalRequest& req = p.out.canonical;
  req.thinking = ThinkingSwitch::kDisabled;
  if (JsonValue thinking = opt(body, "thinking"); thinking) {
    if (!thinking.is_object()) return bad_type("thinking", "a valid dictionary", thinking);
    std::string_view type, display;
    if (Status s = require_string(thinking, "thinking", "type", &type); !s.ok()) return s;
    if (!one_of(type, {"enabled", "adaptive", "disabled"})) {
      return bad_value("thinking.type", "Input should be 'enabled', 'adaptive' or 'disabled'");
    }
    if (JsonValue b = opt(thinking, "budget_tokens"); b && !b.int64()) {
      return bad_type("thinking.budget_tokens", "a valid integer", b);
    }
    if (Status s = optional_string(thinking, "thinking", "display", &display); !s.ok()) return s;
    req.thinking = type == "disabled" ? ThinkingSwitch::kDisabled : ThinkingSwitch::kEnabled;
    p.out.thinking_text = display != "omitted";
  }
  JsonValue config = opt(body, "output_config");
  if (!config) return ok_status();
  if (!config.is_object()) return bad_type("output_config", "a valid dictionary", config);
  std::string_view effort;
  if (Status s = optional_string(config, "output_config", "effort", &effort); !s.ok()) return s;
  req.reasoning_effort = std::string(effort);
  req.send_effort = !effort.empty();
  // format {type:"json_schema", schema}: structured output, as JSON_SCHEMA says.
  if (JsonValue format = opt(config, "format"); format) {
    if (!format.is_object()) return bad_type("output_config.format", "a valid dictionary", format);
    std::string_view type;
    if (Status s = require_string(format, "output_config.format", "type", &type); !s.ok()) return s;
    if (type != "json_schema") {
      return bad_value("output_config.format.type", "Input should be 'json_schema'");
    }
    req.response_format = ResponseFormat::kJsonSchema;
    if (JsonValue schema = opt(format, "schema"); schema.is_object()) {
      req.json_schema = json_dump(schema);
    }
  }
  return ok_status();
}

// metadata.user_id is the end-user id; the rest of metadata is ignored.
Status check_metadata(JsonValue body, Parse& p) {
  JsonValue metadata = opt(body, "metadata");
  if (!metadata) return ok_status();
  if (!metadata.is_object()) return bad_type("metadata", "a valid dictionary", metadata);
  std::string_view user;
  if (Status s = optional_string(metadata, "metadata", "user_id", &user); !s.ok()) return s;
  // Upstream takes 6 to 128 characters; Claude Code's ids are longer: their SHA-256 instead.
  constexpr size_t kUserIdMin = 6, kUserIdMax = 128;
  if (!user.empty() && (user.size() < kUserIdMin || user.size() > kUserIdMax)) {
    p.out.canonical.user = sha256_hex(user);
  } else {
    p.out.canonical.user = std::string(user);
  }
  return ok_status();
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

}  // namespace

Result<MessagesRequest> parse_messages_request(std::string_view body, MessagesRoute route) {
  Result<JsonDocument> parsed = parse_json_in_place(body);
  if (!parsed.ok()) return std::move(parsed).error();
  const JsonValue doc = *parsed;
  if (!doc.is_object()) {
    return make_error(Errc::kInvalidJson, "The request body must be a JSON object.");
  }
  Parse p;
  p.out.canonical.text_bytes = body.size();
  if (Status s = check_model(doc, p); !s.ok()) return std::move(s).error();
  if (Status s = check_messages(doc, p); !s.ok()) return std::move(s).error();
  if (Status s = check_limits(doc, p, route); !s.ok()) return std::move(s).error();
  using Check = Status (*)(JsonValue, Parse&);
  constexpr Check kChecks[] = {check_system,      check_stop,     check_tools,
                               check_tool_choice, check_thinking, check_metadata};
  for (Check check : kChecks) {
    if (Status s = check(doc, p); !s.ok()) return std::move(s).error();
  }
  const int64_t entries = static_cast<int64_t>(opt(doc, "messages").size());
  p.out.input_estimate = ceil_div(p.chars, 3) + 4 * entries + 1600 * p.images;
  return std::move(p.out);
}

}  // namespace zproxy
