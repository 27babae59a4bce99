#include "config/config.h"
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

constexpr int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;

std::string_view fallback_of(std::string_view name) {
  for (const Setting& s : kSettings) {
    if (s.name == name) return s.fallback;
  }
  return {};
}

bool is_ctl(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// A bad value as it appears in messages: quoted, at most 64 bytes, control bytes escaped.
std::string quoted(std::string_view v) {
  constexpr size_t kMax = 64;
  std::string out = "\"";
  for (size_t i = 0; i < v.size() && i < kMax; ++i) {
    const char c = v[i];
    if (is_ctl(c) || c == '"' || c == '\\') {
      constexpr char kHex[] = "0123456789abcdef";
      const auto u = static_cast<unsigned char>(c);
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (v.size() > kMax) out += "...";
  return out + "\"";
}

// Comma-separated list: entries trimmed, empty entries dropped.
std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (true) {
    const size_t comma = s.find(',');
    const std::string_view item = trim(s.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

// A header value: no control bytes except HTAB (so no CR/LF injection).
bool is_header_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return is_ctl(c) && c != '\t'; });
}

bool has_space_or_ctl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return is_ctl(c) || c == ' '; });
}

// Reads settings with a sticky first error: after a failure every read returns a harmless
// value and load_config reports only that first error.
class Reader {
 public:
  explicit Reader(const EnvMap& env) : env_(env) {}

  // The trimmed value when set and non-empty, else nullopt.
  std::optional<std::string_view> given(std::string_view name) const {
    const auto it = env_.find(name);
    if (it == env_.end()) return std::nullopt;
    const std::string_view v = trim(it->second);
    if (v.empty()) return std::nullopt;
    return v;
  }
  std::string_view text(std::string_view name) const {
    return given(name).value_or(fallback_of(name));
  }

  void fail(std::string message) {
    if (!error_) error_ = make_error(Errc::kInvalidConfig, std::move(message));
  }
  // Fails with "<name> <what> (got "<value>")". Never used for secret settings.
  void fail_value(std::string_view name, std::string_view what) {
    fail(std::string(name) + " " + std::string(what) + " (got " + quoted(text(name)) + ")");
  }
  bool failed() const { return error_.has_value(); }
  Error take_error() { return std::move(*error_); }

  int64_t integer(std::string_view name, int64_t lo, int64_t hi);
  bool boolean(std::string_view name);
  // Index into `options` (case-insensitive match).
  size_t choice(std::string_view name, std::initializer_list<std::string_view> options);
  std::string url(std::string_view name);
  std::string path(std::string_view name);
  std::string header_value(std::string_view name);
  // A JSON object of string -> string, in document order.
  std::vector<std::pair<std::string, std::string>> string_map(std::string_view name);

 private:
  const EnvMap& env_;
  std::optional<Error> error_;
};

int64_t Reader::integer(std::string_view name, int64_t lo, int64_t hi) {
  const std::string_view v = text(name);
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < lo || n > hi) {
    fail_value(name,
               "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi));
    return lo;
  }
  return n;
}

bool Reader::boolean(std::string_view name) {
  const std::string_view v = text(name);
  for (std::string_view t : {"true", "1", "yes"}) {
    if (iequals(v, t)) return true;
  }
  for (std::string_view f : {"false", "0", "no"}) {
    if (iequals(v, f)) return false;
  }
  fail_value(name, "must be true or false (also 1/0, yes/no)");
  return false;
}

size_t Reader::choice(std::string_view name, std::initializer_list<std::string_view> options) {
  const std::string_view v = text(name);
  std::string list;
  size_t i = 0;
  for (std::string_view o : options) {
    if (iequals(v, o)) return i;
    list += (i++ == 0 ? "" : ", ") + std::string(o);
  }
  fail_value(name, "must be one of " + list);
  return 0;
}

// Authority "host[:port]" or "[v6]:port": a non-empty host and, when given, a port 1..65535.
bool valid_authority(std::string_view a) {
  std::string_view host = a;
  std::string_view rest;
  if (!a.empty() && a.front() == '[') {
    const size_t close = a.find(']');
    if (close == std::string_view::npos) return false;
    host = a.substr(0, close + 1);
    rest = a.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
  } else if (const size_t colon = a.find(':'); colon != std::string_view::npos) {
    host = a.substr(0, colon);
    rest = a.substr(colon);
  }
  if (host.empty() || host.find('@') != std::string_view::npos) return false;
  if (rest.empty()) return true;
  const std::string_view port = rest.substr(1);
  int p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  return ec == std::errc() && end == port.data() + port.size() && p >= 1 && p <= 65535;
}

std::string Reader::url(std::string_view name) {
  std::string_view v = text(name);
  if (v.find('@') != std::string_view::npos) {  // userinfo: never echoed, never accepted
    fail(std::string(name) + " must not contain credentials (user:password@)");
    return {};
  }
  size_t scheme_len = 0;
  if (istarts_with(v, "http://")) scheme_len = 7;
  if (istarts_with(v, "https://")) scheme_len = 8;
  while (v.size() > scheme_len && v.back() == '/') v.remove_suffix(1);
  const std::string_view rest = v.substr(scheme_len);
  const std::string_view authority = rest.substr(0, rest.find('/'));
  if (scheme_len == 0 || has_space_or_ctl(v) || v.find_first_of("?#") != std::string_view::npos ||
      !valid_authority(authority)) {
    fail_value(name, "must be an http:// or https:// URL with a host and no query");
    return {};
  }
  return std::string(v);
}

std::string Reader::path(std::string_view name) {
  const std::string_view v = text(name);
  if (v.empty() || v.front() != '/' || has_space_or_ctl(v)) {
    fail_value(name, "must be a path starting with '/' without spaces");
    return {};
  }
  return std::string(v);
}

std::string Reader::header_value(std::string_view name) {
  const std::string_view v = text(name);
  if (!is_header_value(v)) {
    fail_value(name, "must not contain control characters (CR, LF, ...)");
    return {};
  }
  return std::string(v);
}

std::vector<std::pair<std::string, std::string>> Reader::string_map(std::string_view name) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::optional<std::string_view> v = given(name);
  if (!v || failed()) return out;
  const std::string what = std::string(name) + " must be a JSON object of string values";
  Result<JsonDocument> doc = parse_json(*v);
  if (!doc.ok()) {
    fail(what + " (" + doc.error().message + ")");
    return out;
  }
  if (!doc->is_object()) {
    fail(what + " (got another JSON type)");
    return out;
  }
  for (const JsonMember m : doc->members()) {
    if (!m.value.is_string()) {
      fail(what + " (the value of " + quoted(m.key) + " is not a string)");
      return {};
    }
    out.emplace_back(std::string(m.key), std::string(m.value.string()));
  }
  return out;
}

// A list of credentials. Messages never echo any part of it.
std::vector<std::string> read_keys(Reader& r, std::string_view name) {
  std::vector<std::string> keys = split_list(r.text(name));
  if (r.given(name) && keys.empty()) {
    r.fail(std::string(name) + " holds no key (only commas and spaces)");
  }
  for (const std::string& k : keys) {
    if (has_space_or_ctl(k)) {
      r.fail(std::string(name) + " entries must not contain spaces or control characters");
    }
  }
  return keys;
}

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

// redis[s]://[user:pass@]host[:port][/db]; never echoes the value (it may hold a password).
void load_redis_url(Reader& r, RedisTarget& t) {
  const std::optional<std::string_view> given = r.given("REDIS_URL");
  if (!given) {
    r.fail("REDIS_URL must be set when STATE_STORE=redis");
    return;
  }
  std::string_view v = *given;
  const auto bad = [&](std::string_view why) {
    r.fail("REDIS_URL must look like redis[s]://[user:password@]host[:port][/db]: " +
           std::string(why));
  };
  if (v.starts_with("rediss://")) {
    t.tls = true;
    v.remove_prefix(9);
  } else if (v.starts_with("redis://")) {
    v.remove_prefix(8);
  } else {
    return bad("the scheme is not redis:// or rediss://");
  }
  if (has_space_or_ctl(v)) return bad("it holds spaces or control characters");
  std::string_view path;
  if (const size_t slash = v.find('/'); slash != std::string_view::npos) {
    path = v.substr(slash + 1);
    v = v.substr(0, slash);
  }
  if (const size_t at = v.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = v.substr(0, at);
    v = v.substr(at + 1);
    const size_t colon = cred.find(':');
    if (colon == std::string_view::npos) {
      t.password = std::string(cred);
    } else {
      t.user = std::string(cred.substr(0, colon));
      t.password = std::string(cred.substr(colon + 1));
    }
  }
  std::string_view port;
  if (v.starts_with('[')) {  // [IPv6]
    const size_t close = v.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address lacks its ']'");
    t.host = std::string(v.substr(1, close - 1));
    v.remove_prefix(close + 1);
    if (v.starts_with(':'))
      port = v.substr(1);
    else if (!v.empty())
      return bad("text follows the IPv6 address");
  } else {
    const size_t colon = v.rfind(':');
    t.host = std::string(v.substr(0, colon));
    if (colon != std::string_view::npos) port = v.substr(colon + 1);
  }
  if (t.host.empty()) return bad("the host is missing");
  const auto number = [](std::string_view text, int lo, int hi, int& out) {
    int n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < lo || n > hi) return false;
    out = n;
    return true;
  };
  if (!port.empty() && !number(port, 1, 65535, t.port)) return bad("the port is not 1..65535");
  if (!path.empty() && !number(path, 0, 1000000, t.db)) return bad("the database is not a number");
}

void load_state(Reader& r, Config& c) {
  StateSettings& st = c.state;
  constexpr StateBackend kBackends[] = {StateBackend::kMemory, StateBackend::kRedis,
                                        StateBackend::kDurableObject};
  st.backend = kBackends[r.choice("STATE_STORE", {"memory", "redis", "durable_object"})];
  if (st.backend == StateBackend::kRedis) load_redis_url(r, st.redis);
  st.redis_ca_file = std::string(r.text("REDIS_CA_FILE"));
  st.key_prefix = std::string(r.text("STATE_KEY_PREFIX"));
  const bool prefix_ok =
      !st.key_prefix.empty() && st.key_prefix.size() <= 32 && only_alnum_or(st.key_prefix, ":_-");
  if (!prefix_ok) r.fail_value("STATE_KEY_PREFIX", "must be 1 to 32 of [A-Za-z0-9:_-]");
  if (r.given("STATE_STORE_TIMEOUT_MS"))
    st.timeout_ms = r.integer("STATE_STORE_TIMEOUT_MS", 1, 60000);
  st.backoff_max_ms = r.integer("STATE_BACKOFF_MAX_MS", 100, 600000);
  if (r.given("STATE_SYNC_MS")) st.sync_ms = r.integer("STATE_SYNC_MS", 10, 3600000);
  if (r.given("STATE_LEASE_TTL_MS"))
    st.lease_ttl_ms = r.integer("STATE_LEASE_TTL_MS", 1000, kMaxTimeoutMs);
  st.dead_ttl_s = r.integer("STATE_DEAD_TTL_S", 1, 365LL * 86400);
}

}  // namespace

std::string RedisTarget::endpoint() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string_view to_string(UpstreamMode m) {
  return m == UpstreamMode::kApi ? "api" : "guest";
}

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
