// The model settings (docs/contract.md §3.2, §5.3, §12.3, and the API-mode adaptation): the
// built-in tables and the loaders of MODEL_MAP, CLAUDE_MODEL_MAP, MODEL_CAPS, MODEL_FALLBACKS,
// VISION_MODELS, VISION_MODEL and WEB_SEARCH.

#include <algorithm>

#include "config/reader.h"
#include "core/ascii.h"
#include "core/effort.h"
#include "json/json.h"

namespace zproxy {
namespace config_detail {
namespace {

constexpr std::pair<std::string_view, std::string_view> kGuestModels[] = {
    {"glm-4.5", "0727-360B-API"},  {"glm-4.5-air", "0727-106B-API"}, {"glm-4.5v", "glm-4.5v"},
    {"glm-4.6", "GLM-4-6-API-V1"}, {"glm-4.7", "glm-4.7"},           {"glm-5", "glm-5"},
};
constexpr std::string_view kApiModels[] = {"glm-4.5", "glm-4.5-air", "glm-4.5v",
                                           "glm-4.6", "glm-4.7",     "glm-5"};

// CLAUDE_MODEL_MAP's API-mode default; guest mode maps every "claude" name to its first model.
constexpr std::pair<std::string_view, std::string_view> kApiClaudeModels[] = {
    {"opus", "glm-5"}, {"sonnet", "glm-4.7"}, {"haiku", "glm-4.5-air"}, {"claude", "glm-4.7"}};

// MODEL_CAPS' built-in table: output limits, thinking and efforts from Z.AI's model pages.
struct BuiltinCaps {
  std::string_view prefix;
  int64_t max_output;
  bool thinking_always;
  std::string_view efforts;  // comma-separated
};
const BuiltinCaps kBuiltinCaps[] = {
    {"glm-4.5", 98304, false, ""},      {"glm-4.5-air", 98304, false, ""},
    {"glm-4.5v", 16384, false, ""},     {"glm-4.6", 131072, false, ""},
    {"glm-4.6v", 32768, false, ""},     {"glm-4.7", 131072, false, ""},
    {"glm-5", 131072, false, ""},       {"glm-5.3", 131072, true, "low,high,max"},
    {"glm-5v-turbo", 32768, false, ""},
};

}  // namespace

void load_models(Reader& r, Config& c) {
  if (c.mode == UpstreamMode::kGuest) {
    for (const auto& [pub, id] : kGuestModels)
      c.models.push_back({std::string(pub), std::string(id)});
  } else {
    for (std::string_view name : kApiModels)
      c.models.push_back({std::string(name), std::string(name)});
  }
  for (auto& [pub, id] : r.string_map("MODEL_MAP")) {
    if (pub.empty() || id.empty() || has_space_or_ctl(pub) || has_space_or_ctl(id)) {
      r.fail("MODEL_MAP: " + quoted(pub) + " must map a non-empty name to a non-empty id " +
             "without spaces");
      return;
    }
    bool replaced = false;
    for (ModelEntry& m : c.models) {
      if (m.public_name == pub) {
        m.upstream_id = id;
        replaced = true;
      }
    }
    if (!replaced) c.models.push_back({std::move(pub), std::move(id)});
  }
}

void load_claude_models(Reader& r, Config& c) {
  if (!r.given("CLAUDE_MODEL_MAP")) {
    if (c.mode == UpstreamMode::kGuest) {
      c.claude_models.push_back({"claude", c.models.front().public_name});
    } else {
      for (const auto& [key, model] : kApiClaudeModels)
        c.claude_models.push_back({std::string(key), std::string(model)});
    }
    return;
  }
  for (auto& [key, model] : r.string_map("CLAUDE_MODEL_MAP")) {
    if (key.empty() || model.empty() || has_space_or_ctl(key) || has_space_or_ctl(model)) {
      r.fail("CLAUDE_MODEL_MAP: " + quoted(key) + " must map a non-empty name to a non-empty " +
             "model without spaces");
      return;
    }
    if (c.mode == UpstreamMode::kGuest && c.find_model(model) == nullptr) {
      r.fail("CLAUDE_MODEL_MAP: " + quoted(key) + " maps to " + quoted(model) +
             ", which guest mode does not serve");
      return;
    }
    c.claude_models.push_back({std::move(key), std::move(model)});
  }
}

// MODEL_CAPS: {"<prefix>":{"max_output":N,"thinking":"optional"|"always","efforts":[…]}}; a
// prefix given here replaces the built-in entry of the same prefix.
void load_model_caps(Reader& r, Config& c) {
  for (const BuiltinCaps& b : kBuiltinCaps) {
    c.model_caps.push_back(
        ModelCaps{std::string(b.prefix), b.max_output, b.thinking_always, split_list(b.efforts)});
  }
  const std::optional<std::string_view> v = r.given("MODEL_CAPS");
  if (!v || r.failed()) return;
  const std::string what =
      "MODEL_CAPS must be a JSON object of model-id prefix -> {\"max_output\": integer >= 1, "
      "\"thinking\": \"optional\" | \"always\", \"efforts\": [strings]}";
  Result<JsonDocument> doc = parse_json(*v);
  if (!doc.ok() || !doc->is_object()) {
    r.fail(what);
    return;
  }
  for (const JsonMember m : doc->members()) {
    ModelCaps caps;
    caps.prefix = std::string(m.key);
    const JsonValue spec = m.value;
    bool ok = !caps.prefix.empty() && spec.is_object();
    for (const JsonMember f : spec.members()) {
      if (f.key == "max_output") {
        const auto n = f.value.int64();
        ok = ok && n && *n >= 1;
        if (n) caps.max_output = *n;
      } else if (f.key == "thinking") {
        ok = ok && (f.value.string() == "optional" || f.value.string() == "always");
        caps.thinking_always = f.value.string() == "always";
      } else if (f.key == "efforts") {
        ok = ok && f.value.is_array();
        for (const JsonValue e : f.value.elements()) {
          const bool known = effort_rank(e.string()) >= 0;
          ok = ok && e.is_string() && known;
          caps.efforts.emplace_back(e.string());
        }
      } else {
        ok = false;
      }
    }
    if (!ok) {
      r.fail(what + " (the entry " + quoted(m.key) + " is not)");
      return;
    }
    auto same = std::find_if(c.model_caps.begin(), c.model_caps.end(),
                             [&](const ModelCaps& x) { return x.prefix == caps.prefix; });
    if (same != c.model_caps.end()) {
      *same = std::move(caps);
    } else {
      c.model_caps.push_back(std::move(caps));
    }
  }
}

// MODEL_FALLBACKS: {"<upstream id>": ["<id>", …]}.
void load_fallbacks(Reader& r, Config& c) {
  const std::optional<std::string_view> v = r.given("MODEL_FALLBACKS");
  if (!v || r.failed()) return;
  const std::string what =
      "MODEL_FALLBACKS must be a JSON object of model id -> list of model ids (no spaces)";
  Result<JsonDocument> doc = parse_json(*v);
  if (!doc.ok() || !doc->is_object()) {
    r.fail(what);
    return;
  }
  for (const JsonMember m : doc->members()) {
    std::vector<std::string> next;
    bool ok = !m.key.empty() && !has_space_or_ctl(m.key) && m.value.is_array();
    for (const JsonValue e : m.value.elements()) {
      ok = ok && e.is_string() && !e.string().empty() && !has_space_or_ctl(e.string());
      next.emplace_back(e.string());
    }
    if (!ok) {
      r.fail(what + " (the entry " + quoted(m.key) + " is not)");
      return;
    }
    c.model_fallbacks.emplace_back(std::string(m.key), std::move(next));
  }
}

void load_api_features(Reader& r, Config& c) {
  load_model_caps(r, c);
  load_fallbacks(r, c);
  for (std::string m : split_list(r.text("VISION_MODELS"))) {
    if (has_space_or_ctl(m)) r.fail_value("VISION_MODELS", "must list model ids without spaces");
    c.vision_models.push_back(std::move(m));
  }
  c.vision_model = std::string(r.text("VISION_MODEL"));
  if (has_space_or_ctl(c.vision_model)) {
    r.fail_value("VISION_MODEL", "must be one model id without spaces");
  }
  c.web_search = r.choice("WEB_SEARCH", {"off", "on"}) == 1;
  c.web_search_engine = r.header_value("WEB_SEARCH_ENGINE");
}

}  // namespace config_detail

const ModelEntry* Config::find_model(std::string_view public_name) const {
  for (const ModelEntry& m : models) {
    if (m.public_name == public_name) return &m;
  }
  return nullptr;
}

const ModelCaps* Config::caps_for(std::string_view upstream_id) const {
  const ModelCaps* best = nullptr;
  for (const ModelCaps& m : model_caps) {
    if (upstream_id.starts_with(m.prefix) && (!best || m.prefix.size() > best->prefix.size())) {
      best = &m;
    }
  }
  return best;
}

const std::vector<std::string>& Config::fallbacks_for(std::string_view upstream_id) const {
  static const std::vector<std::string> kNone;
  for (const auto& [id, next] : model_fallbacks) {
    if (id == upstream_id) return next;
  }
  return kNone;
}

bool Config::is_vision_model(std::string_view upstream_id) const {
  return std::find(vision_models.begin(), vision_models.end(), upstream_id) != vision_models.end();
}

}  // namespace zproxy
