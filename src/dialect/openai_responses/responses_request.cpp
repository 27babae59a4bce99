#include "dialect/openai_responses/responses_request.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "core/ascii.h"
#include "core/tool_names.h"
#include "json/json.h"

namespace zproxy {
namespace {

// Paths are OpenAI's: "input[2].content[0].type", "tools[1].type", "text.format".

Error fail(Errc code, std::string param, std::string message) {
  return make_error(code, std::move(message), std::move(param));
}

Error missing(std::string param) {
  std::string message = "Missing required parameter: '" + param + "'.";
  return fail(Errc::kMissingRequiredParameter, std::move(param), std::move(message));
}

Error invalid(std::string param, std::string_view why) {
  std::string message = "Invalid value for '" + param + "': " + std::string(why);
  return fail(Errc::kInvalidValue, std::move(param), std::move(message));
}

Error unsupported(std::string param, std::string_view why) {
  return fail(Errc::kUnsupportedValue, std::move(param), std::string(why));
}

std::string at(std::string_view base, size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

std::string dot(std::string_view base, std::string_view key) {
  return std::string(base) + "." + std::string(key);
}

// A member, absent when missing or JSON null.
JsonValue opt(JsonValue obj, std::string_view key) {
  const JsonValue v = obj.member(key);
  return v.is_null() ? JsonValue() : v;
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> options) {
  return std::find(options.begin(), options.end(), v) != options.end();
}

// `path` empty: a top-level field, named by its key alone.
std::string field(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : dot(path, key);
}

Status optional_string(JsonValue obj, std::string_view path, std::string_view key,
                       std::string_view* out) {
  const JsonValue v = opt(obj, key);
  if (!v) return ok_status();
  if (!v.is_string()) return invalid(field(path, key), "expected a string.");
  *out = v.string();
  return ok_status();
}

Status require_string(JsonValue obj, std::string_view path, std::string_view key,
                      std::string_view* out) {
  const JsonValue v = opt(obj, key);
  if (!v) return missing(field(path, key));
  if (!v.is_string()) return invalid(field(path, key), "expected a string.");
  *out = v.string();
  return ok_status();
}

// A required string that must not be empty (a call id, a tool name).
Status require_nonempty(JsonValue obj, std::string_view path, std::string_view key,
                        std::string_view* out) {
  if (Status s = require_string(obj, path, key, out); !s.ok()) return s;
  if (out->empty()) return invalid(field(path, key), "expected a non-empty string.");
  return ok_status();
}

constexpr std::string_view kStateless =
    " is not supported: this proxy stores no responses. Send the whole conversation in "
    "'input' instead.";

struct Parse {
  ResponsesRequest out;
  std::optional<std::string> reasoning;  // a reasoning item's text, for the next assistant turn
  bool assistant_open = false;  // the last message is an assistant turn function calls may join
};

CanonicalRequest& req(Parse& p) {
  return p.out.canonical;
}

// ---- input ---------------------------------------------------------------------------------

// A message's content: a string, or parts input_text | output_text | refusal | input_image.
Status message_parts(JsonValue content, const std::string& path, Role role, Message& msg,
                     std::string& image_path) {
  if (content.is_string()) {
    msg.form = ContentForm::kString;
    msg.parts.push_back(Part{PartKind::kText, std::string(content.string()), {}});
    return ok_status();
  }
  if (!content.is_array()) return invalid(path, "expected a string or an array of parts.");
  msg.form = ContentForm::kParts;
  for (size_t j = 0; j < content.size(); ++j) {
    const JsonValue part = content.element(j);
    const std::string ppath = at(path, j);
    if (!part.is_object()) return invalid(ppath, "expected an object.");
    std::string_view type;
    if (Status s = require_string(part, ppath, "type", &type); !s.ok()) return s;
    if (one_of(type, {"input_text", "output_text"})) {
      std::string_view text;
      if (Status s = require_string(part, ppath, "text", &text); !s.ok()) return s;
      msg.parts.push_back(Part{PartKind::kText, std::string(text), {}});
    } else if (type == "refusal") {
      std::string_view text;
      if (Status s = require_string(part, ppath, "refusal", &text); !s.ok()) return s;
      msg.parts.push_back(Part{PartKind::kText, std::string(text), {}});
    } else if (type == "input_image") {
      std::string_view url, detail;
      if (Status s = optional_string(part, ppath, "image_url", &url); !s.ok()) return s;
      if (url.empty()) {
        return unsupported(dot(ppath, "image_url"),
                           "input_image parts need an image_url (a URL or a data: URL); file "
                           "ids are not supported");
      }
      if (Status s = optional_string(part, ppath, "detail", &detail); !s.ok()) return s;
      msg.parts.push_back(Part{PartKind::kImage, std::string(url), std::string(detail)});
      if (image_path.empty()) image_path = ppath;
    } else {
      return unsupported(dot(ppath, "type"),
                         "content parts of type '" + std::string(type) + "' are not supported");
    }
  }
  // An assistant's earlier answer goes upstream as one text.
  if (role == Role::kAssistant) {
    std::string joined;
    for (const Part& part : msg.parts) {
      if (part.kind != PartKind::kText) return unsupported(path, "assistant content is text only");
      joined += part.text;
    }
    msg.parts.assign(1, Part{PartKind::kText, std::move(joined), {}});
    msg.form = ContentForm::kString;
  }
  return ok_status();
}

Status message_item(JsonValue item, const std::string& path, Parse& p) {
  std::string_view role_text;
  if (Status s = require_string(item, path, "role", &role_text); !s.ok()) return s;
  Role role;
  if (role_text == "user") {
    role = Role::kUser;
  } else if (role_text == "assistant") {
    role = Role::kAssistant;
  } else if (role_text == "system") {
    role = Role::kSystem;
  } else if (role_text == "developer") {
    role = Role::kSystem;  // 8.2: developer -> system, for both upstream modes
  } else {
    return invalid(dot(path, "role"), "expected 'user', 'assistant', 'system' or 'developer'.");
  }
  const JsonValue content = opt(item, "content");
  if (!content) return missing(dot(path, "content"));
  Message msg;
  msg.role = role;
  if (Status s = message_parts(content, dot(path, "content"), role, msg, req(p).image_path);
      !s.ok()) {
    return s;
  }
  if (role == Role::kAssistant) {
    msg.reasoning = std::move(p.reasoning);
    p.reasoning.reset();
  }
  req(p).messages.push_back(std::move(msg));
  p.assistant_open = role == Role::kAssistant;
  return ok_status();
}

// The assistant turn a function call joins: the one just written, else a new one.
Message& assistant_turn(Parse& p) {
  if (!p.assistant_open) {
    Message msg;
    msg.role = Role::kAssistant;
    msg.form = ContentForm::kNone;
    msg.reasoning = std::move(p.reasoning);
    p.reasoning.reset();
    req(p).messages.push_back(std::move(msg));
    p.assistant_open = true;
  }
  return req(p).messages.back();
}

std::string compact_input_arguments(std::string_view input) {
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("input");
  w.String(input);
  w.EndObject();
  return buf.take();
}

Status call_item(JsonValue item, const std::string& path, bool custom, Parse& p) {
  std::string_view call_id, name, ns, arguments;
  if (Status s = require_nonempty(item, path, "call_id", &call_id); !s.ok()) return s;
  if (Status s = require_nonempty(item, path, "name", &name); !s.ok()) return s;
  if (Status s = optional_string(item, path, "namespace", &ns); !s.ok()) return s;
  std::string args;
  if (custom) {
    if (Status s = require_string(item, path, "input", &arguments); !s.ok()) return s;
    args = compact_input_arguments(arguments);
  } else {
    if (Status s = require_string(item, path, "arguments", &arguments); !s.ok()) return s;
    args = std::string(arguments);
  }
  std::string full = ns.empty() ? std::string(name) : std::string(ns) + "__" + std::string(name);
  assistant_turn(p).tool_calls.push_back(
      ToolCall{std::string(call_id), std::move(full), std::move(args)});
  return ok_status();
}

// function_call_output / custom_tool_call_output: output is a string, or parts whose texts are
// joined (an image part stands as "[image omitted]").
Status output_item(JsonValue item, const std::string& path, Parse& p) {
  std::string_view call_id;
  if (Status s = require_nonempty(item, path, "call_id", &call_id); !s.ok()) return s;
  const JsonValue output = opt(item, "output");
  if (!output) return missing(dot(path, "output"));
  std::string text;
  if (output.is_string()) {
    text = std::string(output.string());
  } else if (output.is_array()) {
    for (size_t j = 0; j < output.size(); ++j) {
      const JsonValue part = output.element(j);
      const std::string_view type = part.member("type").string();
      if (type == "input_image") {
        text += "[image omitted]";
      } else if (part.member("text").is_string()) {
        text += part.member("text").string();
      } else {
        return unsupported(dot(at(dot(path, "output"), j), "type"),
                           "output parts are text or images");
      }
    }
  } else {
    return invalid(dot(path, "output"), "expected a string or an array of parts.");
  }
  Message msg;
  msg.role = Role::kTool;
  msg.form = ContentForm::kString;
  msg.parts.push_back(Part{PartKind::kText, std::move(text), {}});
  msg.tool_call_id = std::string(call_id);
  req(p).messages.push_back(std::move(msg));
  p.assistant_open = false;
  return ok_status();
}

// reasoning {summary:[summary_text], content?:[reasoning_text]}: the text the next assistant
// turn carries as its reasoning (content preferred, else the summary).
Status reasoning_item(JsonValue item, const std::string& path, Parse& p) {
  auto texts = [](JsonValue list, std::string_view type) {
    std::string out;
    for (const JsonValue part : list.elements()) {
      if (part.member("type").string() != type) continue;
      if (!out.empty()) out += "\n";
      out += part.member("text").string();
    }
    return out;
  };
  const JsonValue summary = opt(item, "summary");
  const JsonValue content = opt(item, "content");
  if (summary && !summary.is_array()) return invalid(dot(path, "summary"), "expected an array.");
  if (content && !content.is_array()) return invalid(dot(path, "content"), "expected an array.");
  std::string text = texts(content, "reasoning_text");
  if (text.empty()) text = texts(summary, "summary_text");
  if (!text.empty()) {
    if (p.reasoning) {
      *p.reasoning += "\n" + text;
    } else {
      p.reasoning = std::move(text);
    }
  }
  p.assistant_open = false;
  return ok_status();
}

Status check_input(JsonValue body, Parse& p) {
  const JsonValue input = opt(body, "input");
  if (!input) return missing("input");
  if (input.is_string()) {
    Message msg;
    msg.role = Role::kUser;
    msg.form = ContentForm::kString;
    msg.parts.push_back(Part{PartKind::kText, std::string(input.string()), {}});
    req(p).messages.push_back(std::move(msg));
    return ok_status();
  }
  if (!input.is_array() || input.size() == 0) {
    return invalid("input", "expected a string or a non-empty array of items.");
  }
  for (size_t i = 0; i < input.size(); ++i) {
    const JsonValue item = input.element(i);
    const std::string path = at("input", i);
    if (!item.is_object()) return invalid(path, "expected an object.");
    std::string_view type = item.member("role") ? "message" : "";
    if (Status s = optional_string(item, path, "type", &type); !s.ok()) return s;
    Status s = ok_status();
    if (type == "message") {
      s = message_item(item, path, p);
    } else if (type == "function_call") {
      s = call_item(item, path, false, p);
    } else if (type == "custom_tool_call") {
      s = call_item(item, path, true, p);
    } else if (type == "function_call_output" || type == "custom_tool_call_output") {
      s = output_item(item, path, p);
    } else if (type == "reasoning") {
      s = reasoning_item(item, path, p);
    } else if (type == "item_reference") {
      return unsupported(dot(path, "type"), "item_reference" + std::string(kStateless));
    } else if (type.empty()) {
      return missing(dot(path, "type"));
    } else {
      return unsupported(dot(path, "type"),
                         "input items of type '" + std::string(type) + "' are not supported");
    }
    if (!s.ok()) return s;
  }
  // Reasoning items alone (and no instructions, already in) leave nothing to answer.
  if (req(p).messages.empty()) {
    return invalid("input", "expected at least one message, function call or tool output.");
  }
  return ok_status();
}

// ---- tools ---------------------------------------------------------------------------------

constexpr std::string_view kEmptySchema = R"({"type":"object","properties":{}})";
constexpr std::string_view kCustomSchema =
    R"({"type":"object","properties":{"input":{"type":"string"}},"required":["input"]})";

bool valid_name(std::string_view name) {
  return !name.empty() && only_alnum_or(name, "_-");
}

// One function or custom tool (top level, or a namespace's child named "<ns>__<name>").
Status one_tool(JsonValue tool, const std::string& path, std::string_view type, std::string_view ns,
                Parse& p) {
  std::string_view name, description;
  if (Status s = require_string(tool, path, "name", &name); !s.ok()) return s;
  if (!valid_name(name)) {
    return invalid(dot(path, "name"), "tool names may hold letters, digits, '_' and '-' only.");
  }
  const bool has_description = static_cast<bool>(opt(tool, "description"));
  if (Status s = optional_string(tool, path, "description", &description); !s.ok()) return s;
  Tool t;
  ResponsesTool rt;
  rt.name = std::string(name);
  rt.ns = std::string(ns);
  rt.upstream_name = ns.empty() ? rt.name : std::string(ns) + "__" + rt.name;
  t.name = rt.upstream_name;
  if (has_description) t.description = std::string(description);
  if (type == "function") {
    const JsonValue params = opt(tool, "parameters");
    if (params && !params.is_object())
      return invalid(dot(path, "parameters"), "expected an object.");
    t.parameters = params ? json_dump(params) : std::string(kEmptySchema);
  } else {
    // Freeform: one string parameter; the format (a grammar, say) joins the description.
    rt.kind = ResponsesTool::Kind::kCustom;
    t.parameters = std::string(kCustomSchema);
    const JsonValue format = opt(tool, "format");
    if (format && !format.is_object()) return invalid(dot(path, "format"), "expected an object.");
    const std::string_view definition = format.member("definition").string();
    if (!definition.empty()) {
      std::string d = t.description.value_or("");
      if (!d.empty()) d += "\n\n";
      d += "The input must follow this ";
      d += format.member("syntax").string("grammar");
      d += " grammar:\n";
      d += definition;
      t.description = std::move(d);
    }
  }
  req(p).tools.push_back(std::move(t));
  p.out.tools.push_back(std::move(rt));
  return ok_status();
}

bool declined_type(std::string_view type) {
  // web_search: Codex sends it on every turn; Z.AI's search has another shape and bills the
  // operator. tool_search: Codex's own client-side tool catalogue, which upstream cannot run.
  return type.starts_with("web_search") || type == "tool_search";
}

Status check_tools(JsonValue body, Parse& p, JsonWriter& echo) {
  const JsonValue tools = opt(body, "tools");
  echo.Key("tools");
  echo.StartArray();
  if (tools && !tools.is_array()) return invalid("tools", "expected an array.");
  for (size_t i = 0; i < tools.size(); ++i) {
    const JsonValue tool = tools.element(i);
    const std::string path = at("tools", i);
    if (!tool.is_object()) return invalid(path, "expected an object.");
    std::string_view type;
    if (Status s = require_string(tool, path, "type", &type); !s.ok()) return s;
    if (declined_type(type)) {
      p.out.declined_tools.emplace_back(type);
      if (type.starts_with("web_search") &&
          tool.member("external_web_access").boolean().value_or(true)) {
        p.out.web_search = true;
      }
      continue;
    }
    if (type == "function" || type == "custom") {
      if (Status s = one_tool(tool, path, type, {}, p); !s.ok()) return s;
    } else if (type == "namespace") {
      std::string_view ns;
      if (Status s = require_string(tool, path, "name", &ns); !s.ok()) return s;
      const JsonValue children = opt(tool, "tools");
      if (!children.is_array()) return invalid(dot(path, "tools"), "expected an array.");
      for (size_t j = 0; j < children.size(); ++j) {
        const JsonValue child = children.element(j);
        const std::string cpath = at(dot(path, "tools"), j);
        std::string_view ctype = "function";
        if (Status s = optional_string(child, cpath, "type", &ctype); !s.ok()) return s;
        if (ctype != "function" && ctype != "custom") {
          return unsupported(dot(cpath, "type"), "namespace tools are function or custom tools");
        }
        if (Status s = one_tool(child, cpath, ctype, ns, p); !s.ok()) return s;
      }
    } else {
      return unsupported(dot(path, "type"),
                         "tools of type '" + std::string(type) +
                             "' are not supported: the proxy serves function, custom and "
                             "namespace tools");
    }
    echo.Value(tool);
  }
  echo.EndArray();
  return ok_status();
}

// ---- the other fields ----------------------------------------------------------------------

// A field echoed as sent, or its default when absent.
void echo_value(JsonWriter& w, JsonValue body, std::string_view key, std::string_view fallback) {
  w.Key(key);
  const JsonValue v = body.member(key);
  if (v && !v.is_null()) {
    w.Value(v);
  } else {
    w.RawValue(fallback);
  }
}

Status check_refusals(JsonValue body) {
  for (std::string_view key : {"previous_response_id", "conversation", "prompt"}) {
    if (opt(body, key))
      return unsupported(std::string(key), std::string(key) + std::string(kStateless));
  }
  if (body.member("background").boolean().value_or(false)) {
    return unsupported("background", "background" + std::string(kStateless));
  }
  if (const JsonValue n = opt(body, "top_logprobs"); n && n.number().value_or(0) > 0) {
    return unsupported("top_logprobs", "top_logprobs are not supported");
  }
  if (opt(body, "truncation").string() == "auto") {
    return unsupported("truncation", "truncation 'auto' is not supported");
  }
  return ok_status();
}

Status check_sampling(JsonValue body, Parse& p) {
  CanonicalRequest& r = req(p);
  if (const JsonValue v = opt(body, "max_output_tokens"); v) {
    const auto n = v.int64();
    if (!n || *n < 0) return invalid("max_output_tokens", "expected a non-negative integer.");
    r.max_tokens = *n;
  }
  for (const auto& [key, slot] : {std::pair{"temperature", &r.temperature}, {"top_p", &r.top_p}}) {
    if (const JsonValue v = opt(body, key); v) {
      if (!v.is_number()) return invalid(key, "expected a number.");
      *slot = v.number();
    }
  }
  if (const JsonValue v = opt(body, "stream"); v) {
    if (!v.is_bool()) return invalid("stream", "expected a boolean.");
    r.stream = *v.boolean();
  }
  std::string_view user;
  if (Status s = optional_string(body, "", "user", &user); !s.ok()) return s;
  if (Status s = optional_string(body, "", "safety_identifier", &user); !s.ok()) return s;
  r.user = std::string(user);
  return ok_status();
}

Status check_choice(JsonValue body, Parse& p) {
  const JsonValue choice = opt(body, "tool_choice");
  if (!choice) return ok_status();
  const std::string_view v = choice.string();
  if (v == "auto") {
    req(p).tool_choice = ToolChoice::kAuto;
  } else if (v == "none") {
    req(p).tool_choice = ToolChoice::kNone;
  } else {
    return unsupported("tool_choice", "tool_choice must be 'auto' or 'none'");
  }
  return ok_status();
}

// reasoning {effort, summary}: effort none/minimal turns thinking off, anything else on.
Status check_reasoning(JsonValue body, Parse& p) {
  const JsonValue reasoning = opt(body, "reasoning");
  req(p).thinking = ThinkingSwitch::kEnabled;
  if (!reasoning) return ok_status();
  if (!reasoning.is_object()) return invalid("reasoning", "expected an object.");
  std::string_view effort;
  if (Status s = optional_string(reasoning, "reasoning", "effort", &effort); !s.ok()) return s;
  if (effort == "none" || effort == "minimal") req(p).thinking = ThinkingSwitch::kDisabled;
  req(p).reasoning_effort = std::string(effort);
  p.out.reasoning_summary = static_cast<bool>(opt(reasoning, "summary"));
  return ok_status();
}

// text.format: text | json_object | json_schema.
Status check_text(JsonValue body, Parse& p) {
  const JsonValue text = opt(body, "text");
  if (!text) return ok_status();
  if (!text.is_object()) return invalid("text", "expected an object.");
  const JsonValue format = opt(text, "format");
  if (!format) return ok_status();
  std::string_view type;
  if (Status s = require_string(format, "text.format", "type", &type); !s.ok()) return s;
  if (type == "text") {
    req(p).response_format = ResponseFormat::kText;
  } else if (type == "json_object") {
    req(p).response_format = ResponseFormat::kJsonObject;
  } else if (type == "json_schema") {
    req(p).response_format = ResponseFormat::kJsonSchema;
    if (const JsonValue schema = opt(format, "schema"); schema.is_object()) {
      req(p).json_schema = json_dump(schema);
    }
  } else {
    return invalid("text.format.type", "expected 'text', 'json_object' or 'json_schema'.");
  }
  return ok_status();
}

Status check_include(JsonValue body, Parse& p) {
  const JsonValue include = opt(body, "include");
  if (!include) return ok_status();
  if (!include.is_array()) return invalid("include", "expected an array.");
  for (size_t i = 0; i < include.size(); ++i) {
    const std::string_view v = include.element(i).string();
    if (v == "reasoning.encrypted_content") p.out.encrypted_reasoning = true;
    if (v == "message.output_text.logprobs") {
      return unsupported(at("include", i), "logprobs are not supported");
    }
  }
  return ok_status();
}

}  // namespace

Result<ResponsesRequest> parse_responses_request(std::string_view body) {
  Result<JsonDocument> parsed = parse_json_in_place(body);
  if (!parsed.ok()) return std::move(parsed).error();
  const JsonDocument& doc = *parsed;
  if (!doc.is_object()) {
    return make_error(Errc::kInvalidJson, "The request body must be a JSON object.");
  }
  Parse p;
  CanonicalRequest& r = req(p);
  r.text_bytes = body.size();
  std::string_view model;
  if (Status s = require_string(doc, "", "model", &model); !s.ok()) return std::move(s).error();
  r.model = std::string(model);
  if (Status s = check_refusals(doc); !s.ok()) return std::move(s).error();
  std::string_view instructions;
  if (Status s = optional_string(doc, "", "instructions", &instructions); !s.ok()) {
    return std::move(s).error();
  }
  if (!instructions.empty()) {
    Message msg;
    msg.role = Role::kSystem;
    msg.form = ContentForm::kString;
    msg.parts.push_back(Part{PartKind::kText, std::string(instructions), {}});
    r.messages.push_back(std::move(msg));
  }
  if (Status s = check_input(doc, p); !s.ok()) return std::move(s).error();
  JsonBuffer echo_buf;
  JsonWriter echo(echo_buf);
  echo.StartObject();
  echo_value(echo, doc, "instructions", "null");
  echo_value(echo, doc, "max_output_tokens", "null");
  echo_value(echo, doc, "parallel_tool_calls", "true");
  echo.Key("reasoning");
  echo.StartObject();
  echo_value(echo, doc.member("reasoning"), "effort", "null");
  echo_value(echo, doc.member("reasoning"), "summary", "null");
  echo.EndObject();
  echo_value(echo, doc, "temperature", "null");
  echo_value(echo, doc, "text", R"({"format":{"type":"text"}})");
  echo_value(echo, doc, "tool_choice", "\"auto\"");
  if (Status s = check_tools(doc, p, echo); !s.ok()) return std::move(s).error();
  echo_value(echo, doc, "top_p", "null");
  echo_value(echo, doc, "user", "null");
  echo_value(echo, doc, "safety_identifier", "null");
  echo_value(echo, doc, "prompt_cache_key", "null");
  echo_value(echo, doc, "metadata", "{}");
  echo.EndObject();
  using Check = Status (*)(JsonValue, Parse&);
  constexpr Check kChecks[] = {check_sampling, check_choice, check_reasoning, check_text,
                               check_include};
  for (Check check : kChecks) {
    if (Status s = check(doc, p); !s.ok()) return std::move(s).error();
  }
  std::string e = echo_buf.take();
  p.out.echo = e.substr(1, e.size() - 2);  // the members without the braces
  return std::move(p.out);
}

}  // namespace zproxy
