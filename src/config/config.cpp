#include "config/config.h"

#include "config/reader.h"
#include "core/ascii.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <optional>
#include <utility>

#include "core/effort.h"
#include "core/sha256.h"
#include "core/version.h"
#include "json/json.h"

namespace zproxy {
namespace {

// One row per setting: the single source of defaults for both load_config and config_help.
// An empty `fallback` means "unset"; ZAI_USER_AGENT's default is built from kVersion.
struct Setting {
  std::string_view name;
  std::string_view fallback;
  std::string_view meaning;
};

constexpr std::string_view kDefaultApiKey = "sk-z2api-key-2024";

constexpr Setting kSettings[] = {
    {"PORT", "3000", "native listen port (1..65535)"},
    {"HOST", "0.0.0.0", "native listen address"},
    {"API_KEY", kDefaultApiKey, "client key(s) for Authorization: Bearer, comma-separated"},
    {"ALLOW_OPEN_ACCESS", "false", "true disables client authentication entirely"},
    {"CLIENT_KEYS", "",
     "JSON array of client keys with names, models and limits (native: or @/path/file.json); "
     "CLIENT_KEYS_2..CLIENT_KEYS_9 hold further arrays"},
    {"ADMIN_KEY", "",
     "at least 32 characters: enables /admin/* (and guards /metrics with CLIENT_KEYS)"},
    {"UPSTREAM_MODE", "auto", "auto | guest | api (auto: api when ZAI_API_KEYS is set)"},
    {"TOKEN_POOL_SIZE", "5", "guest mode: anonymous tokens to keep (0..256)"},
    {"ZAI_API_KEYS", "", "comma-separated keys for Z.AI's official API (api mode)"},
    {"ZAI_API_BASE_URL", "https://api.z.ai/api/paas/v4", "official API base URL"},
    {"ZAI_BASE_URL", "https://chat.z.ai", "guest-mode upstream origin"},
    {"ZAI_AUTH_PATH", "/api/v1/auths/", "guest-mode anonymous token path"},
    {"ZAI_CHAT_PATH", "/api/chat/completions", "guest-mode chat path"},
    {"ZAI_FE_VERSION", "prod-fe-1.0.95", "web client version header sent in guest mode"},
    {"ZAI_USER_AGENT", "", "User-Agent sent upstream"},
    {"ZAI_ACCEPT_LANGUAGE", "en-US,en;q=0.9", "Accept-Language sent in guest mode"},
    {"ZAI_EXTRA_HEADERS", "", "JSON object of extra upstream headers"},
    {"MODEL_MAP", "", "JSON object public name -> upstream id, merged over the built-in table"},
    {"CLAUDE_MODEL_MAP", "",
     "ordered JSON object: substring of an Anthropic model name -> model (Messages API)"},
    {"COUNT_TOKENS", "auto",
     "auto | estimate | off: /v1/messages/count_tokens through Z.AI's tokenizer (API mode), "
     "the estimate, or 404"},
    {"JSON_SCHEMA", "emulate",
     "emulate | refuse: json_schema structured output as json_object plus the schema as an "
     "instruction (API mode; not enforced upstream), or 400"},
    {"MODEL_CAPS", "",
     "API mode: JSON object, upstream-id prefix -> {\"max_output\":N,\"thinking\":\"optional\"|"
     "\"always\",\"efforts\":[...]}, merged over the built-in table"},
    {"MODEL_FALLBACKS", "",
     "API mode: JSON object, upstream id -> list of ids tried next when it is overloaded"},
    {"VISION_MODELS", "glm-4.5v,glm-4.6v,glm-5v-turbo", "API mode: models that take images"},
    {"VISION_MODEL", "",
     "API mode: model that serves image requests for other models (empty: such requests get 400)"},
    {"WEB_SEARCH", "off", "on | off: chat web_search_options and the Responses web_search tool"},
    {"WEB_SEARCH_ENGINE", "search_pro_jina",
     "API mode: the search_engine of Z.AI's web_search tool"},
    {"SHOW_THINK_TAGS", "false", "true: reasoning goes into content as <think>...</think>"},
    {"THINKING", "", "reasoning_content | think_tags | hidden (overrides SHOW_THINK_TAGS)"},
    {"MAX_BODY_BYTES", "8388608", "request body limit in bytes (1024..1073741824)"},
    {"SSE_MAX_EVENT_MIB", "8", "largest upstream SSE event in MiB (1..256)"},
    {"CONNECT_TIMEOUT_MS", "5000", "upstream connect timeout"},
    {"FIRST_BYTE_TIMEOUT_MS", "60000", "upstream time to first byte"},
    {"STREAM_IDLE_TIMEOUT_MS", "120000", "longest silence in an upstream stream"},
    {"REQUEST_DEADLINE_MS", "90000", "total time for all attempts before the first byte"},
    {"MAX_ATTEMPTS", "3", "upstream attempts per request (1..10)"},
    {"MAX_INFLIGHT_PER_CREDENTIAL", "0", "concurrent requests per credential (0: no cap)"},
    {"TOKEN_MAX_AGE_S", "1800", "guest tokens are replaced before this age (>= 60)"},
    {"KEEPALIVE_S", "15", "seconds of stream silence before a keep-alive comment"},
    {"CORS_ORIGINS", "*", "allowed origins, comma-separated"},
    {"SHUTDOWN_GRACE_S", "8", "native: seconds open streams get after SIGTERM"},
    {"CLIENT_REQUEST_TIMEOUT_MS", "30000",
     "native: a request's head and body must arrive within this from its first byte (0: off)"},
    {"CLIENT_IDLE_TIMEOUT_S", "75", "native: keep-alive connections idle this long are closed"},
    {"MAX_CONNECTIONS", "10000", "native: open client connections; beyond, 503 (1..1000000)"},
    {"UPSTREAM_CA_FILE", "", "native: extra CA bundle for upstream TLS (default: system bundle)"},
    {"HTTPS_PROXY", "", "native: proxy for upstream HTTPS (also https_proxy)"},
    {"NO_PROXY", "", "native: hosts reached without HTTPS_PROXY, comma-separated (also no_proxy)"},
    {"STATE_STORE", "memory",
     "memory | redis (native) | durable_object (Worker): where replicas share client-key "
     "limits and credential health"},
    {"REDIS_URL", "", "STATE_STORE=redis: redis[s]://[user:pass@]host[:port][/db]"},
    {"REDIS_CA_FILE", "", "CA bundle for rediss:// (default: system bundle)"},
    {"STATE_KEY_PREFIX", "zp:", "prefix of the store's keys ([A-Za-z0-9:_-]{1,32})"},
    {"STATE_STORE_TIMEOUT_MS", "", "per store operation (default: 250 native, 1000 Worker)"},
    {"STATE_BACKOFF_MAX_MS", "5000", "store reconnect backoff cap"},
    {"STATE_SYNC_MS", "", "credential-health refresh (default: 1000 native, 2000 Worker)"},
    {"STATE_LEASE_TTL_MS", "",
     "a concurrency lease lapses unless renewed (default: 30000 native, 120000 Worker)"},
    {"STATE_DEAD_TTL_S", "86400", "how long a shared dead mark holds"},
    {"LOG_LEVEL", "info", "debug | info | warn | error"},
    {"LOG_BODIES", "false", "true logs prompts and answers (debug only)"},
};

}  // namespace

namespace config_detail {

std::string_view fallback_of(std::string_view name) {
  for (const Setting& s : kSettings) {
    if (s.name == name) return s.fallback;
  }
  return {};
}

}  // namespace config_detail

namespace {

using namespace config_detail;

void load_listen(Reader& r, Config& c) {
  c.port = static_cast<int>(r.integer("PORT", 1, 65535));
  c.host = std::string(r.text("HOST"));
  if (has_space_or_ctl(c.host)) r.fail_value("HOST", "must be an address without spaces");
}

void load_mode(Reader& r, Config& c) {
  c.zai_api_keys = read_keys(r, "ZAI_API_KEYS");
  const size_t mode = r.choice("UPSTREAM_MODE", {"auto", "guest", "api"});
  const bool api = mode == 2 || (mode == 0 && !c.zai_api_keys.empty());
  c.mode = api ? UpstreamMode::kApi : UpstreamMode::kGuest;
  if (api && c.zai_api_keys.empty()) {
    r.fail("ZAI_API_KEYS must hold at least one key when UPSTREAM_MODE=api");
  }
  if (!api && !c.zai_api_keys.empty()) {
    c.warnings.push_back("ZAI_API_KEYS is ignored because UPSTREAM_MODE=guest");
  }
  c.token_pool_size = static_cast<size_t>(r.integer("TOKEN_POOL_SIZE", 0, 256));
  if (!api && c.token_pool_size == 0 && !r.failed()) {
    c.warnings.push_back("TOKEN_POOL_SIZE=0: chat requests will be answered with 503");
  }
}

// Runs after load_mode: the default key's verdict depends on the mode.
// CLIENT_KEYS and CLIENT_KEYS_2 … CLIENT_KEYS_9: arrays concatenated in order (a Worker
// variable holds about 20 keys).
void load_client_keys(Reader& r, Config& c) {
  std::vector<std::string> names = {"CLIENT_KEYS"};
  for (int i = 2; i <= 9; ++i) names.push_back("CLIENT_KEYS_" + std::to_string(i));
  for (const std::string& name : names) {
    const std::optional<std::string_view> v = r.given(name);
    if (!v) continue;
    c.client_keys_set = true;
    auto parsed = parse_client_keys(*v, c.warnings);
    if (!parsed.ok()) {
      std::string message = parsed.error().message;
      if (name != "CLIENT_KEYS") message = name + message.substr(11);  // "CLIENT_KEYS" prefix
      r.fail(message);
      return;
    }
    for (ClientKey& k : *parsed) {
      for (const ClientKey& other : c.client_keys) {
        if (other.name == k.name) {
          r.fail(name + ": the name '" + k.name + "' is used twice");
          return;
        }
      }
      c.client_keys.push_back(std::move(k));
    }
  }
}

void load_auth(Reader& r, Config& c) {
  c.allow_open_access = r.boolean("ALLOW_OPEN_ACCESS");
  if (const std::optional<std::string_view> admin = r.given("ADMIN_KEY")) {
    if (admin->size() < 32 || has_space_or_ctl(*admin)) {
      r.fail("ADMIN_KEY must be at least 32 characters without spaces");
    }
    c.admin_key = std::string(*admin);
  }
  load_client_keys(r, c);
  if (c.client_keys_set && c.allow_open_access) {
    r.fail("ALLOW_OPEN_ACCESS=true cannot be combined with CLIENT_KEYS");
    return;
  }
  // With CLIENT_KEYS, API_KEY adds keys only when set explicitly (no public default).
  std::vector<std::string> keys;
  if (!c.client_keys_set || r.given("API_KEY")) keys = read_keys(r, "API_KEY");
  if (c.allow_open_access) {
    c.warnings.push_back(
        "ALLOW_OPEN_ACCESS=true: client authentication is disabled, anyone who can reach the "
        "proxy can use it");
    if (r.given("API_KEY"))
      c.warnings.push_back("API_KEY is ignored because ALLOW_OPEN_ACCESS=true");
    return;
  }
  bool uses_default = false;
  for (const std::string& k : keys) uses_default = uses_default || k == kDefaultApiKey;
  if (uses_default && c.client_keys_set) {
    r.fail("API_KEY must not be the public default key when CLIENT_KEYS is set");
  } else if (uses_default && c.mode == UpstreamMode::kApi) {
    r.fail(
        "API_KEY must be set to a private key in api mode: the default key is public and would "
        "expose ZAI_API_KEYS to anyone (or set ALLOW_OPEN_ACCESS=true deliberately)");
  } else if (uses_default) {
    c.warnings.push_back(
        "public default API_KEY in use: anyone who knows it can use this proxy; set API_KEY to a "
        "private value");
  }
  // API_KEY's keys: unlimited client keys named api-key-<n>, before CLIENT_KEYS' own.
  std::vector<ClientKey> unlimited;
  for (size_t i = 0; i < keys.size(); ++i) {
    ClientKey k;
    k.name = "api-key-" + std::to_string(i + 1);
    k.digest = sha256(keys[i]);
    unlimited.push_back(std::move(k));
  }
  for (const ClientKey& k : c.client_keys) {
    for (const ClientKey& u : unlimited) {
      if (u.name == k.name)
        r.fail("CLIENT_KEYS: the name '" + k.name + "' is reserved for API_KEY");
    }
  }
  c.client_keys.insert(c.client_keys.begin(), unlimited.begin(), unlimited.end());
}

void load_extra_headers(Reader& r, Config& c) {
  for (auto& [name, value] : r.string_map("ZAI_EXTRA_HEADERS")) {
    if (!is_http_token(name)) {
      r.fail("ZAI_EXTRA_HEADERS: " + quoted(name) + " is not a valid header name");
    } else if (iequals(name, "host") || iequals(name, "content-length") ||
               iequals(name, "transfer-encoding") || iequals(name, "connection")) {
      r.fail("ZAI_EXTRA_HEADERS: " + quoted(name) +
             " is set by the proxy and cannot be overridden");
    } else if (!is_header_value(value)) {
      r.fail("ZAI_EXTRA_HEADERS: the value of " + quoted(name) +
             " must not contain control characters (CR, LF, ...)");
    }
    c.zai_extra_headers.push_back(Header{std::move(name), std::move(value)});
  }
}

void load_upstream(Reader& r, Config& c) {
  c.zai_api_base_url = r.url("ZAI_API_BASE_URL");
  c.zai_base_url = r.url("ZAI_BASE_URL");
  c.zai_auth_path = r.path("ZAI_AUTH_PATH");
  c.zai_chat_path = r.path("ZAI_CHAT_PATH");
  c.zai_fe_version = r.header_value("ZAI_FE_VERSION");
  c.zai_user_agent = r.given("ZAI_USER_AGENT") ? r.header_value("ZAI_USER_AGENT")
                                               : std::string("z-ai-proxy/") + kVersion;
  c.zai_accept_language = r.header_value("ZAI_ACCEPT_LANGUAGE");
  load_extra_headers(r, c);
}

void load_limits(Reader& r, Config& c) {
  c.max_body_bytes = static_cast<size_t>(r.integer("MAX_BODY_BYTES", 1024, int64_t{1} << 30));
  c.sse_max_event_bytes = static_cast<size_t>(r.integer("SSE_MAX_EVENT_MIB", 1, 256)) << 20;
  c.connect_timeout_ms = r.integer("CONNECT_TIMEOUT_MS", 1, kMaxTimeoutMs);
  c.first_byte_timeout_ms = r.integer("FIRST_BYTE_TIMEOUT_MS", 1, kMaxTimeoutMs);
  c.stream_idle_timeout_ms = r.integer("STREAM_IDLE_TIMEOUT_MS", 1, kMaxTimeoutMs);
  c.request_deadline_ms = r.integer("REQUEST_DEADLINE_MS", 1, kMaxTimeoutMs);
  c.max_attempts = static_cast<int>(r.integer("MAX_ATTEMPTS", 1, 10));
  c.max_inflight_per_credential =
      static_cast<uint32_t>(r.integer("MAX_INFLIGHT_PER_CREDENTIAL", 0, 1000000));
  c.token_max_age_ms = r.integer("TOKEN_MAX_AGE_S", 60, 30LL * 86400) * 1000;
  c.keepalive_ms = r.integer("KEEPALIVE_S", 1, 3600) * 1000;
  c.shutdown_grace_ms = r.integer("SHUTDOWN_GRACE_S", 0, 3600) * 1000;
}

// The native host's client side (the Worker's is Cloudflare's).
void load_client_side(Reader& r, Config& c) {
  c.client_request_timeout_ms = r.integer("CLIENT_REQUEST_TIMEOUT_MS", 0, kMaxTimeoutMs);
  c.client_idle_timeout_ms = r.integer("CLIENT_IDLE_TIMEOUT_S", 1, 86400) * 1000;
  c.max_connections = static_cast<size_t>(r.integer("MAX_CONNECTIONS", 1, 1000000));
}

void load_misc(Reader& r, Config& c) {
  const bool tags = r.boolean("SHOW_THINK_TAGS");
  c.thinking = tags ? ThinkingMode::kThinkTags : ThinkingMode::kReasoningContent;
  if (r.given("THINKING")) {
    const size_t t = r.choice("THINKING", {"reasoning_content", "think_tags", "hidden"});
    constexpr ThinkingMode kModes[] = {ThinkingMode::kReasoningContent, ThinkingMode::kThinkTags,
                                       ThinkingMode::kHidden};
    c.thinking = kModes[t];
  }
  for (std::string origin : split_list(r.text("CORS_ORIGINS"))) {
    while (origin.size() > 1 && origin.back() == '/') origin.pop_back();
    if (origin != "*" && (origin.find("://") == std::string::npos || has_space_or_ctl(origin))) {
      r.fail_value("CORS_ORIGINS", "must be * or origins like https://example.com");
    }
    c.cors_origins.push_back(std::move(origin));
  }
  if (c.cors_origins.empty()) r.fail_value("CORS_ORIGINS", "must list at least one origin");
  constexpr LogLevel kLevels[] = {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                                  LogLevel::kError};
  c.log_level = kLevels[r.choice("LOG_LEVEL", {"debug", "info", "warn", "error"})];
  c.log_bodies = r.boolean("LOG_BODIES");
  constexpr CountTokens kCounts[] = {CountTokens::kAuto, CountTokens::kEstimate, CountTokens::kOff};
  c.count_tokens = kCounts[r.choice("COUNT_TOKENS", {"auto", "estimate", "off"})];
  c.json_schema = r.choice("JSON_SCHEMA", {"emulate", "refuse"}) == 0 ? JsonSchemaMode::kEmulate
                                                                      : JsonSchemaMode::kRefuse;
  c.upstream_ca_file = std::string(r.text("UPSTREAM_CA_FILE"));
  c.https_proxy = std::string(r.given("HTTPS_PROXY").value_or(r.text("https_proxy")));
  c.no_proxy = std::string(r.given("NO_PROXY").value_or(r.text("no_proxy")));
}

}  // namespace

std::string_view to_string(UpstreamMode m) {
  return m == UpstreamMode::kApi ? "api" : "guest";
}

Result<Config> load_config(const EnvMap& env) {
  Reader r(env);
  Config c;
  load_listen(r, c);
  load_mode(r, c);
  load_auth(r, c);
  load_upstream(r, c);
  load_models(r, c);
  load_claude_models(r, c);
  load_api_features(r, c);
  load_limits(r, c);
  load_client_side(r, c);
  load_misc(r, c);
  load_state(r, c);
  if (r.failed()) return r.take_error();
  return c;
}

std::string config_help() {
  std::string out = "Settings (environment variables; empty means unset):\n";
  for (const Setting& s : kSettings) {
    std::string fallback(s.fallback);
    if (s.name == "ZAI_USER_AGENT") fallback = std::string("z-ai-proxy/") + kVersion;
    out += "  " + std::string(s.name);
    out.append(s.name.size() < 28 ? 28 - s.name.size() : 1, ' ');
    out += std::string(s.meaning) + " (default: " + (fallback.empty() ? "unset" : fallback) + ")\n";
  }
  return out;
}

}  // namespace zproxy
