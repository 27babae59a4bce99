#pragma once
// The canonical request: what every client dialect's parser produces and every upstream's
// request builder reads (docs/architecture.md §2). Typed values only, never a client's JSON:
// the one opaque piece is a tool's parameter schema, kept as compact JSON text because it is
// the user's own document, passed upstream as is.
//
// A dialect fills in what its request says, translated to these terms (an Anthropic
// `tool_result` block becomes a kTool message); an upstream adapter refuses what its mode
// cannot serve (check_request) and writes the rest in its protocol.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zproxy {

enum class Role : uint8_t { kSystem, kDeveloper, kUser, kAssistant, kTool };

// The OpenAI name of a role ("system", "developer", "user", "assistant", "tool").
inline std::string_view role_name(Role role) {
  switch (role) {
    case Role::kSystem: return "system";
    case Role::kDeveloper: return "developer";
    case Role::kUser: return "user";
    case Role::kAssistant: return "assistant";
    case Role::kTool: return "tool";
  }
  return "user";
}

enum class PartKind : uint8_t {
  kText,     // text
  kImage,    // text is the URL (https: or data:), detail the optional "detail" hint
  kRefusal,  // an assistant's earlier refusal; text is its wording
};

struct Part {
  PartKind kind = PartKind::kText;
  std::string text;
  std::string detail;
};

// How a message's content was given. Upstreams that distinguish them keep the client's choice.
enum class ContentForm : uint8_t {
  kNone,    // absent or null (assistant messages only)
  kString,  // one string: parts holds exactly one kText part
  kParts,   // a list of parts (possibly of one)
};

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as the model wrote it
};

struct Message {
  Role role = Role::kUser;
  ContentForm form = ContentForm::kNone;
  std::vector<Part> parts;
  std::string name;                      // optional participant name; empty when absent
  std::optional<std::string> reasoning;  // assistant: the reasoning that preceded the answer
  std::vector<ToolCall> tool_calls;      // assistant
  std::string tool_call_id;              // kTool: the call this message answers
};

struct Tool {
  std::string name;
  std::optional<std::string> description;
  std::string parameters;  // JSON Schema as compact JSON text; empty when absent
  std::optional<bool> strict;
};

enum class ToolChoice : uint8_t { kAbsent, kAuto, kNone, kRequired, kFunction };

// Thinking as the client asked for it; upstream defaults differ from dialect defaults, so each
// dialect says what it means (Anthropic: absent is kDisabled).
enum class ThinkingSwitch : uint8_t { kDefault, kEnabled, kDisabled };

enum class ResponseFormat : uint8_t { kAbsent, kText, kJsonObject, kJsonSchema };

struct CanonicalRequest {
  std::string model;  // the public name the client sent
  std::vector<Message> messages;
  std::vector<Tool> tools;
  ToolChoice tool_choice = ToolChoice::kAbsent;
  bool stream = false;
  bool include_usage = false;     // OpenAI stream_options.include_usage
  std::vector<std::string> stop;  // 0..4 non-empty strings, enforced by the engine
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> max_tokens;
  std::string reasoning_effort;  // as sent, empty when absent
  bool send_effort = false;      // API mode passes reasoning_effort upstream as is (Messages)
  ThinkingSwitch thinking = ThinkingSwitch::kDefault;
  std::string user;  // end-user id, empty when absent
  int64_t n = 1;
  bool logprobs = false;
  ResponseFormat response_format = ResponseFormat::kAbsent;
  bool web_search = false;  // chat's web_search_options (served only with WEB_SEARCH=on)
  std::string image_path;   // the first image part's place in the client's words ("" if none;
                            // the chat dialect's is derived from the message and part index)
  std::string json_schema;  // kJsonSchema: the schema as compact JSON ("" when none was given)
  size_t text_bytes = 0;    // the client body's size: a size hint for upstream bodies

  bool has_tools() const { return !tools.empty(); }
  // Any image part in any message.
  bool has_image_parts() const;
};

inline bool CanonicalRequest::has_image_parts() const {
  for (const Message& m : messages) {
    for (const Part& p : m.parts) {
      if (p.kind == PartKind::kImage) return true;
    }
  }
  return false;
}

}  // namespace zproxy
