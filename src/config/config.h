#pragma once
// Settings (docs/contract.md §3) as one value type, built from a key/value map: the native
// host passes its environment, the Worker its `env`. Every upstream detail (URLs, paths, header
// values, model ids, client version) has its default here and nowhere else.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/upstream.h"
#include "keys/client_keys.h"

namespace zproxy {

enum class UpstreamMode : uint8_t { kGuest, kApi };
enum class ThinkingMode : uint8_t { kReasoningContent, kThinkTags, kHidden };
enum class LogLevel : uint8_t { kDebug, kInfo, kWarn, kError };
// COUNT_TOKENS: Z.AI's tokenizer in API mode (else the estimate), always the estimate, or off.
enum class CountTokens : uint8_t { kAuto, kEstimate, kOff };
// JSON_SCHEMA: json_schema structured output emulated (json_object + the schema as an
// instruction, the answer checked) or refused with 400.
enum class JsonSchemaMode : uint8_t { kEmulate, kRefuse };

std::string_view to_string(UpstreamMode m);  // "guest" | "api"

struct ModelEntry {
  std::string public_name;
  std::string upstream_id;
};

// What an API-mode model takes (MODEL_CAPS): matched by the longest prefix of its upstream id.
struct ModelCaps {
  std::string prefix;
  int64_t max_output = 0;            // 0: no known limit
  bool thinking_always = false;      // the model always thinks (thinking cannot be turned off)
  std::vector<std::string> efforts;  // the reasoning efforts it takes; empty: none
};

using EnvMap = std::map<std::string, std::string, std::less<>>;

// Where replicas share client-key limits and credential health (docs/contract.md §14).
enum class StateBackend : uint8_t { kMemory, kRedis, kDurableObject };

// REDIS_URL: redis[s]://[user:pass@]host[:port][/db]
struct RedisTarget {
  bool tls = false;
  std::string host;
  int port = 6379;
  std::string user;
  std::string password;  // never logged
  int db = 0;
  std::string endpoint() const;  // "host:port", for logs
};

struct StateSettings {
  StateBackend backend = StateBackend::kMemory;
  RedisTarget redis;
  std::string redis_ca_file;  // REDIS_CA_FILE; empty: the system bundle
  std::string key_prefix = "zp:";
  // 0 where unset: the gateway puts its host's default in (HostLimits).
  int64_t timeout_ms = 0;
  int64_t backoff_max_ms = 5000;
  int64_t sync_ms = 0;
  int64_t lease_ttl_ms = 0;
  int64_t dead_ttl_s = 86400;
};

struct Config {
  // listening (native host)
  std::string host = "0.0.0.0";
  int port = 3000;

  // client auth
  // Every client key: API_KEY's entries (unlimited, named api-key-1, api-key-2, …) and
  // CLIENT_KEYS' (with their names, models and limits). Empty with open access.
  std::vector<ClientKey> client_keys;
  bool client_keys_set = false;  // CLIENT_KEYS was given
  std::string admin_key;         // ADMIN_KEY: /admin/* (and /metrics once CLIENT_KEYS is set)
  bool allow_open_access = false;

  StateSettings state;

  // upstream
  UpstreamMode mode = UpstreamMode::kGuest;
  size_t token_pool_size = 5;
  std::vector<std::string> zai_api_keys;
  std::string zai_api_base_url;  // no trailing slash
  std::string zai_base_url;      // no trailing slash
  std::string zai_auth_path;     // guest token endpoint path, e.g. "/api/v1/auths/"
  std::string zai_chat_path;     // guest chat path, e.g. "/api/chat/completions"
  std::string zai_fe_version;
  std::string zai_user_agent;
  std::string zai_accept_language;
  std::vector<Header> zai_extra_headers;  // ZAI_EXTRA_HEADERS, in the JSON object's order
  std::vector<ModelEntry> models;         // active mode's table with MODEL_MAP merged over it
  // CLAUDE_MODEL_MAP in its order: public_name is a case-insensitive substring of an Anthropic
  // model name, upstream_id the model of the active table (or, in API mode, any id) it means.
  std::vector<ModelEntry> claude_models;

  // API mode: per-model limits (MODEL_CAPS over the built-in table), fallbacks on overload
  // (MODEL_FALLBACKS: upstream id -> the ids to try next, in order), vision routing
  // (VISION_MODELS take images; VISION_MODEL serves image requests for other models) and
  // web search (WEB_SEARCH).
  std::vector<ModelCaps> model_caps;
  std::vector<std::pair<std::string, std::vector<std::string>>> model_fallbacks;
  std::vector<std::string> vision_models;
  std::string vision_model;
  bool web_search = false;
  std::string web_search_engine;  // WEB_SEARCH_ENGINE

  ThinkingMode thinking = ThinkingMode::kReasoningContent;
  CountTokens count_tokens = CountTokens::kAuto;
  JsonSchemaMode json_schema = JsonSchemaMode::kEmulate;

  // limits and timeouts
  size_t max_body_bytes = 8388608;
  size_t sse_max_event_bytes = 8u << 20;  // SSE_MAX_EVENT_MIB
  int64_t connect_timeout_ms = 5000;
  int64_t first_byte_timeout_ms = 60000;
  int64_t stream_idle_timeout_ms = 120000;
  int64_t request_deadline_ms = 90000;
  int max_attempts = 3;
  uint32_t max_inflight_per_credential = 0;  // 0: no cap
  int64_t token_max_age_ms = 1800 * 1000;
  int64_t keepalive_ms = 15000;
  std::vector<std::string> cors_origins;  // {"*"} by default
  int64_t shutdown_grace_ms = 8000;
  // native client side: a request's head and body arrive within client_request_timeout_ms of
  // its first byte (0: no limit); a keep-alive connection idle for client_idle_timeout_ms is
  // closed; beyond max_connections open client connections new ones are refused with 503
  int64_t client_request_timeout_ms = 30000;
  int64_t client_idle_timeout_ms = 75000;
  size_t max_connections = 10000;
  std::string upstream_ca_file;
  std::string https_proxy;  // HTTPS_PROXY (or https_proxy)
  std::string no_proxy;     // NO_PROXY (or no_proxy)
  LogLevel log_level = LogLevel::kInfo;
  bool log_bodies = false;

  // Start-up warnings the host logs (public default key in guest mode, open access, …).
  std::vector<std::string> warnings;

  // The table entry for a public model name, or nullptr.
  const ModelEntry* find_model(std::string_view public_name) const;

  // The caps of an upstream model id (the longest matching prefix), or nullptr.
  const ModelCaps* caps_for(std::string_view upstream_id) const;
  // The models to try after `upstream_id` is overloaded (empty when none is configured).
  const std::vector<std::string>& fallbacks_for(std::string_view upstream_id) const;
  bool is_vision_model(std::string_view upstream_id) const;

  // The model name a Messages request's `model` stands for (docs/contract.md §12.3):
  // a table name as is; else the same without a trailing "[1m]"; else the first
  // CLAUDE_MODEL_MAP key it contains; else, in API mode, the name without "[1m]" (upstream
  // decides), in guest mode empty (not found).
  std::string resolve_claude_model(std::string_view name) const;
};

// Builds and validates. A bad value is one Error (code kInvalidConfig) whose message names the
// variable, e.g. "PORT must be an integer between 1 and 65535 (got \"abc\")".
Result<Config> load_config(const EnvMap& env);

// `--help` text: every setting with its default and meaning, one per line.
std::string config_help();

}  // namespace zproxy
