#include "config/config.h"
#include "core/sha256.h"

#include <functional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/version.h"

namespace zproxy {
namespace {

Config load_ok(const EnvMap& env) {
  Result<Config> r = load_config(env);
  if (!r.ok()) FAIL("unexpected error: " << r.error().message);
  return std::move(r).value();
}

Error load_err(const EnvMap& env) {
  Result<Config> r = load_config(env);
  if (r.ok()) FAIL("expected an error");
  return r.error();
}

bool has_warning(const Config& c, std::string_view needle) {
  for (const std::string& w : c.warnings) {
    if (w.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> models_of(const Config& c) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const ModelEntry& m : c.models) out.emplace_back(m.public_name, m.upstream_id);
  return out;
}

using Models = std::vector<std::pair<std::string, std::string>>;

const Models kGuestTable = {{"glm-4.5", "0727-360B-API"}, {"glm-4.5-air", "0727-106B-API"},
                            {"glm-4.5v", "glm-4.5v"},     {"glm-4.6", "GLM-4-6-API-V1"},
                            {"glm-4.7", "glm-4.7"},       {"glm-5", "glm-5"}};
const Models kApiTable = {{"glm-4.5", "glm-4.5"},   {"glm-4.5-air", "glm-4.5-air"},
                          {"glm-4.5v", "glm-4.5v"}, {"glm-4.6", "glm-4.6"},
                          {"glm-4.7", "glm-4.7"},   {"glm-5", "glm-5"}};

}  // namespace

namespace {

// The configured client keys as digests, in order, and the digests of plain keys.
std::vector<std::string> key_digests(const zproxy::Config& c) {
  std::vector<std::string> out;
  for (const zproxy::ClientKey& k : c.client_keys)
    out.emplace_back(k.digest.begin(), k.digest.end());
  return out;
}
std::vector<std::string> digests(std::initializer_list<const char*> keys) {
  std::vector<std::string> out;
  for (const char* k : keys) {
    const auto d = zproxy::sha256(k);
    out.emplace_back(d.begin(), d.end());
  }
  return out;
}

}  // namespace

TEST_CASE("config: every default") {
  const Config c = load_ok({});
  CHECK(c.host == "0.0.0.0");
  CHECK(c.port == 3000);
  CHECK(key_digests(c) == digests({"sk-z2api-key-2024"}));
  CHECK_FALSE(c.allow_open_access);
  CHECK(c.mode == UpstreamMode::kGuest);
  CHECK(to_string(c.mode) == "guest");
  CHECK(c.token_pool_size == 5);
  CHECK(c.zai_api_keys.empty());
  CHECK(c.zai_api_base_url == "https://api.z.ai/api/paas/v4");
  CHECK(c.zai_base_url == "https://chat.z.ai");
  CHECK(c.zai_auth_path == "/api/v1/auths/");
  CHECK(c.zai_chat_path == "/api/chat/completions");
  CHECK(c.zai_fe_version.rfind("prod-fe-1.0.", 0) == 0);
  CHECK(c.zai_user_agent == std::string("z-ai-proxy/") + kVersion);
  CHECK(c.zai_accept_language == "en-US,en;q=0.9");
  CHECK(c.zai_extra_headers.empty());
  CHECK(models_of(c) == kGuestTable);
  CHECK(c.thinking == ThinkingMode::kReasoningContent);
  CHECK(c.max_body_bytes == 8388608);
  CHECK(c.sse_max_event_bytes == 8u << 20);
  CHECK(c.connect_timeout_ms == 5000);
  CHECK(c.first_byte_timeout_ms == 60000);
  CHECK(c.stream_idle_timeout_ms == 120000);
  CHECK(c.request_deadline_ms == 90000);
  CHECK(c.max_attempts == 3);
  CHECK(c.max_inflight_per_credential == 0);
  CHECK(c.token_max_age_ms == 1800 * 1000);
  CHECK(c.keepalive_ms == 15000);
  CHECK(c.cors_origins == std::vector<std::string>{"*"});
  CHECK(c.shutdown_grace_ms == 8000);
  CHECK(c.client_request_timeout_ms == 30000);
  CHECK(c.client_idle_timeout_ms == 75000);
  CHECK(c.max_connections == 10000);
  CHECK(c.upstream_ca_file.empty());
  CHECK(c.https_proxy.empty());
  CHECK(c.no_proxy.empty());
  CHECK(c.log_level == LogLevel::kInfo);
  CHECK_FALSE(c.log_bodies);
  CHECK(has_warning(c, "public default API_KEY in use"));
}

TEST_CASE("config: empty and blank strings mean unset") {
  const Config c = load_ok({{"PORT", ""},
                            {"HOST", "  "},
                            {"API_KEY", ""},
                            {"LOG_LEVEL", ""},
                            {"ZAI_BASE_URL", ""},
                            {"MODEL_MAP", ""},
                            {"UPSTREAM_MODE", ""}});
  CHECK(c.port == 3000);
  CHECK(c.host == "0.0.0.0");
  CHECK(key_digests(c) == digests({"sk-z2api-key-2024"}));
  CHECK(c.zai_base_url == "https://chat.z.ai");
  CHECK(c.mode == UpstreamMode::kGuest);
}

TEST_CASE("config: good values") {
  struct Row {
    EnvMap env;
    std::function<bool(const Config&)> check;
  };
  const std::vector<Row> rows = {
      {{{"PORT", "1"}}, [](const Config& c) { return c.port == 1; }},
      {{{"PORT", "65535"}}, [](const Config& c) { return c.port == 65535; }},
      {{{"PORT", " 8080\n"}}, [](const Config& c) { return c.port == 8080; }},
      {{{"HOST", "127.0.0.1"}}, [](const Config& c) { return c.host == "127.0.0.1"; }},
      {{{"HOST", "::"}}, [](const Config& c) { return c.host == "::"; }},
      {{{"API_KEY", " a , b,,c "}},
       [](const Config& c) {
         return key_digests(c) == digests({"a", "b", "c"});
       }},
      {{{"API_KEY", "secret"}}, [](const Config& c) { return c.warnings.empty(); }},
      {{{"TOKEN_POOL_SIZE", "0"}}, [](const Config& c) { return c.token_pool_size == 0; }},
      {{{"TOKEN_POOL_SIZE", "256"}}, [](const Config& c) { return c.token_pool_size == 256; }},
      {{{"MAX_ATTEMPTS", "1"}}, [](const Config& c) { return c.max_attempts == 1; }},
      {{{"MAX_ATTEMPTS", "10"}}, [](const Config& c) { return c.max_attempts == 10; }},
      {{{"CONNECT_TIMEOUT_MS", "1"}}, [](const Config& c) { return c.connect_timeout_ms == 1; }},
      {{{"FIRST_BYTE_TIMEOUT_MS", "250"}},
       [](const Config& c) { return c.first_byte_timeout_ms == 250; }},
      {{{"STREAM_IDLE_TIMEOUT_MS", "3000"}},
       [](const Config& c) { return c.stream_idle_timeout_ms == 3000; }},
      {{{"REQUEST_DEADLINE_MS", "1000"}},
       [](const Config& c) { return c.request_deadline_ms == 1000; }},
      {{{"KEEPALIVE_S", "1"}}, [](const Config& c) { return c.keepalive_ms == 1000; }},
      {{{"TOKEN_MAX_AGE_S", "60"}}, [](const Config& c) { return c.token_max_age_ms == 60000; }},
      {{{"SHUTDOWN_GRACE_S", "0"}}, [](const Config& c) { return c.shutdown_grace_ms == 0; }},
      {{{"CLIENT_REQUEST_TIMEOUT_MS", "0"}},
       [](const Config& c) { return c.client_request_timeout_ms == 0; }},
      {{{"CLIENT_REQUEST_TIMEOUT_MS", "2000"}},
       [](const Config& c) { return c.client_request_timeout_ms == 2000; }},
      {{{"CLIENT_IDLE_TIMEOUT_S", "1"}},
       [](const Config& c) { return c.client_idle_timeout_ms == 1000; }},
      {{{"CLIENT_IDLE_TIMEOUT_S", "86400"}},
       [](const Config& c) { return c.client_idle_timeout_ms == 86400000; }},
      {{{"MAX_CONNECTIONS", "1"}}, [](const Config& c) { return c.max_connections == 1; }},
      {{{"MAX_CONNECTIONS", "1000000"}},
       [](const Config& c) { return c.max_connections == 1000000; }},
      {{{"MAX_BODY_BYTES", "1024"}}, [](const Config& c) { return c.max_body_bytes == 1024; }},
      {{{"MAX_BODY_BYTES", "1073741824"}},
       [](const Config& c) { return c.max_body_bytes == (size_t{1} << 30); }},
      {{{"MAX_INFLIGHT_PER_CREDENTIAL", "4"}},
       [](const Config& c) { return c.max_inflight_per_credential == 4; }},
      {{{"SSE_MAX_EVENT_MIB", "1"}},
       [](const Config& c) { return c.sse_max_event_bytes == 1u << 20; }},
      {{{"SSE_MAX_EVENT_MIB", "256"}},
       [](const Config& c) { return c.sse_max_event_bytes == size_t{256} << 20; }},
      {{{"ZAI_BASE_URL", "http://127.0.0.1:8080//"}},
       [](const Config& c) { return c.zai_base_url == "http://127.0.0.1:8080"; }},
      {{{"ZAI_API_BASE_URL", "HTTPS://open.bigmodel.cn/api/paas/v4/"}},
       [](const Config& c) {
         return c.zai_api_base_url == "HTTPS://open.bigmodel.cn/api/paas/v4";
       }},
      {{{"ZAI_BASE_URL", "http://[::1]:9000"}},
       [](const Config& c) { return c.zai_base_url == "http://[::1]:9000"; }},
      {{{"ZAI_AUTH_PATH", "/auth"}}, [](const Config& c) { return c.zai_auth_path == "/auth"; }},
      {{{"ZAI_CHAT_PATH", "/v2/chat"}},
       [](const Config& c) { return c.zai_chat_path == "/v2/chat"; }},
      {{{"ZAI_FE_VERSION", "prod-fe-1.0.200"}},
       [](const Config& c) { return c.zai_fe_version == "prod-fe-1.0.200"; }},
      {{{"ZAI_USER_AGENT", "ua\n"}}, [](const Config& c) { return c.zai_user_agent == "ua"; }},
      {{{"ZAI_USER_AGENT", "Custom/1.0 (x)"}},
       [](const Config& c) { return c.zai_user_agent == "Custom/1.0 (x)"; }},
      {{{"ZAI_ACCEPT_LANGUAGE", "zh-CN"}},
       [](const Config& c) { return c.zai_accept_language == "zh-CN"; }},
      {{{"SHOW_THINK_TAGS", "true"}},
       [](const Config& c) { return c.thinking == ThinkingMode::kThinkTags; }},
      {{{"SHOW_THINK_TAGS", "YES"}},
       [](const Config& c) { return c.thinking == ThinkingMode::kThinkTags; }},
      {{{"SHOW_THINK_TAGS", "0"}},
       [](const Config& c) { return c.thinking == ThinkingMode::kReasoningContent; }},
      {{{"THINKING", "hidden"}, {"SHOW_THINK_TAGS", "true"}},
       [](const Config& c) { return c.thinking == ThinkingMode::kHidden; }},
      {{{"THINKING", "reasoning_content"}, {"SHOW_THINK_TAGS", "true"}},
       [](const Config& c) { return c.thinking == ThinkingMode::kReasoningContent; }},
      {{{"THINKING", "think_tags"}},
       [](const Config& c) { return c.thinking == ThinkingMode::kThinkTags; }},
      {{{"CORS_ORIGINS", "https://a.example/, http://b.example:8080"}},
       [](const Config& c) {
         return c.cors_origins ==
                std::vector<std::string>{"https://a.example", "http://b.example:8080"};
       }},
      {{{"LOG_LEVEL", "debug"}}, [](const Config& c) { return c.log_level == LogLevel::kDebug; }},
      {{{"LOG_LEVEL", "WARN"}}, [](const Config& c) { return c.log_level == LogLevel::kWarn; }},
      {{{"LOG_LEVEL", "error"}}, [](const Config& c) { return c.log_level == LogLevel::kError; }},
      {{{"LOG_BODIES", "1"}}, [](const Config& c) { return c.log_bodies; }},
      {{{"UPSTREAM_CA_FILE", "/tmp/ca.pem"}},
       [](const Config& c) { return c.upstream_ca_file == "/tmp/ca.pem"; }},
      {{{"HTTPS_PROXY", "http://proxy:3128"}},
       [](const Config& c) { return c.https_proxy == "http://proxy:3128"; }},
      {{{"https_proxy", "http://lower:3128"}},
       [](const Config& c) { return c.https_proxy == "http://lower:3128"; }},
      {{{"HTTPS_PROXY", "http://upper:1"}, {"https_proxy", "http://lower:2"}},
       [](const Config& c) { return c.https_proxy == "http://upper:1"; }},
      {{{"NO_PROXY", "a.example,.b.example"}},
       [](const Config& c) { return c.no_proxy == "a.example,.b.example"; }},
      {{{"no_proxy", "lower.example"}},
       [](const Config& c) { return c.no_proxy == "lower.example"; }},
      {{{"NO_PROXY", "upper.example"}, {"no_proxy", "lower.example"}},
       [](const Config& c) { return c.no_proxy == "upper.example"; }},
  };
  for (const Row& row : rows) {
    INFO(row.env.begin()->first << "=" << row.env.begin()->second);
    CHECK(row.check(load_ok(row.env)));
  }
}

TEST_CASE("config: bad values name the variable and the value") {
  struct Row {
    std::string name;
    std::string value;
  };
  const std::vector<Row> rows = {
      {"PORT", "0"},
      {"PORT", "65536"},
      {"PORT", "abc"},
      {"PORT", "80x"},
      {"PORT", "-1"},
      {"PORT", "1.5"},
      {"PORT", "99999999999999999999999"},
      {"HOST", "a b"},
      {"ALLOW_OPEN_ACCESS", "maybe"},
      {"UPSTREAM_MODE", "cloud"},
      {"TOKEN_POOL_SIZE", "-1"},
      {"TOKEN_POOL_SIZE", "257"},
      {"MAX_ATTEMPTS", "0"},
      {"MAX_ATTEMPTS", "11"},
      {"CONNECT_TIMEOUT_MS", "0"},
      {"FIRST_BYTE_TIMEOUT_MS", "-5"},
      {"STREAM_IDLE_TIMEOUT_MS", "1s"},
      {"REQUEST_DEADLINE_MS", "0"},
      {"KEEPALIVE_S", "0"},
      {"TOKEN_MAX_AGE_S", "59"},
      {"SHUTDOWN_GRACE_S", "-1"},
      {"CLIENT_REQUEST_TIMEOUT_MS", "-1"},
      {"CLIENT_REQUEST_TIMEOUT_MS", "30s"},
      {"CLIENT_REQUEST_TIMEOUT_MS", "86400001"},
      {"CLIENT_IDLE_TIMEOUT_S", "0"},
      {"CLIENT_IDLE_TIMEOUT_S", "86401"},
      {"MAX_CONNECTIONS", "0"},
      {"MAX_CONNECTIONS", "1000001"},
      {"MAX_CONNECTIONS", "many"},
      {"MAX_BODY_BYTES", "1023"},
      {"MAX_BODY_BYTES", "1073741825"},
      {"MAX_INFLIGHT_PER_CREDENTIAL", "-1"},
      {"SSE_MAX_EVENT_MIB", "0"},
      {"SSE_MAX_EVENT_MIB", "257"},
      {"ZAI_BASE_URL", "chat.z.ai"},
      {"ZAI_BASE_URL", "ftp://chat.z.ai"},
      {"ZAI_BASE_URL", "https://"},
      {"ZAI_BASE_URL", "https:///path"},
      {"ZAI_BASE_URL", "https://host:0"},
      {"ZAI_BASE_URL", "https://host:99999"},
      {"ZAI_BASE_URL", "https://host:"},
      {"ZAI_BASE_URL", "https://ho st"},
      {"ZAI_API_BASE_URL", "https://api.z.ai/v4?x=1"},
      {"ZAI_AUTH_PATH", "api/v1/auths/"},
      {"ZAI_CHAT_PATH", "/a b"},
      {"ZAI_FE_VERSION", "prod\r\nX-Evil: 1"},
      {"ZAI_USER_AGENT", "u\na"},
      {"ZAI_ACCEPT_LANGUAGE", "en\x01"},
      {"ZAI_EXTRA_HEADERS", "not json"},
      {"ZAI_EXTRA_HEADERS", "[1,2]"},
      {"ZAI_EXTRA_HEADERS", "{\"X-A\":1}"},
      {"ZAI_EXTRA_HEADERS", "{\"Bad Name\":\"v\"}"},
      {"ZAI_EXTRA_HEADERS", "{\"X-A\":\"v\\r\\nInjected: 1\"}"},
      {"ZAI_EXTRA_HEADERS", "{\"Content-Length\":\"5\"}"},
      {"MODEL_MAP", "{"},
      {"MODEL_MAP", "\"glm\""},
      {"MODEL_MAP", "{\"glm-x\":\"\"}"},
      {"MODEL_MAP", "{\"\":\"id\"}"},
      {"MODEL_MAP", "{\"glm-x\":null}"},
      {"SHOW_THINK_TAGS", "2"},
      {"THINKING", "visible"},
      {"CORS_ORIGINS", "example.com"},
      {"CORS_ORIGINS", ",,"},
      {"LOG_LEVEL", "verbose"},
      {"LOG_BODIES", "on"},
  };
  for (const Row& row : rows) {
    INFO(row.name << "=" << row.value);
    const Error e = load_err({{row.name, row.value}});
    CHECK(e.code == Errc::kInvalidConfig);
    CHECK(e.param.empty());
    CHECK(e.message.find(row.name) != std::string::npos);
  }
}

TEST_CASE("config: error message format") {
  CHECK(load_err({{"PORT", "abc"}}).message ==
        "PORT must be an integer between 1 and 65535 (got \"abc\")");
  CHECK(load_err({{"LOG_LEVEL", "loud"}}).message ==
        "LOG_LEVEL must be one of debug, info, warn, error (got \"loud\")");
  // Control bytes are escaped and long values cut.
  const std::string msg = load_err({{"HOST", "a\x1b b" + std::string(200, 'x')}}).message;
  CHECK(msg.find('\x1b') == std::string::npos);
  CHECK(msg.find("\\x1b") != std::string::npos);
  CHECK(msg.size() < 200);
}

TEST_CASE("config: upstream mode and key rules") {
  SECTION("auto picks api when ZAI_API_KEYS is set") {
    const Config c = load_ok({{"ZAI_API_KEYS", "k1, k2"}, {"API_KEY", "mine"}});
    CHECK(c.mode == UpstreamMode::kApi);
    CHECK(to_string(c.mode) == "api");
    CHECK(c.zai_api_keys == std::vector<std::string>{"k1", "k2"});
    CHECK(models_of(c) == kApiTable);
    CHECK(c.warnings.empty());
  }
  SECTION("explicit guest ignores the keys with a warning") {
    const Config c = load_ok({{"UPSTREAM_MODE", "guest"}, {"ZAI_API_KEYS", "k1"}});
    CHECK(c.mode == UpstreamMode::kGuest);
    CHECK(has_warning(c, "ZAI_API_KEYS"));
    CHECK(models_of(c) == kGuestTable);
  }
  SECTION("api without keys") {
    const Error e = load_err({{"UPSTREAM_MODE", "api"}, {"API_KEY", "mine"}});
    CHECK(e.message.find("ZAI_API_KEYS") != std::string::npos);
    CHECK(load_err({{"UPSTREAM_MODE", "API"}, {"ZAI_API_KEYS", " , "}, {"API_KEY", "mine"}})
              .message.find("ZAI_API_KEYS") != std::string::npos);
  }
  SECTION("api mode refuses the default key, unset or explicit") {
    for (const EnvMap& env :
         {EnvMap{{"ZAI_API_KEYS", "k1"}},
          EnvMap{{"ZAI_API_KEYS", "k1"}, {"API_KEY", "sk-z2api-key-2024"}},
          EnvMap{{"ZAI_API_KEYS", "k1"}, {"API_KEY", "mine,sk-z2api-key-2024"}}}) {
      const Error e = load_err(env);
      CHECK(e.code == Errc::kInvalidConfig);
      CHECK(e.message.rfind("API_KEY", 0) == 0);
    }
  }
  SECTION("open access") {
    const Config c = load_ok({{"ZAI_API_KEYS", "k1"}, {"ALLOW_OPEN_ACCESS", "true"}});
    CHECK(c.allow_open_access);
    CHECK(c.client_keys.empty());
    CHECK(has_warning(c, "ALLOW_OPEN_ACCESS"));
    const Config g = load_ok({{"ALLOW_OPEN_ACCESS", "1"}, {"API_KEY", "x"}});
    CHECK(g.client_keys.empty());
    CHECK(has_warning(g, "API_KEY is ignored"));
    CHECK_FALSE(has_warning(g, "public default"));
  }
  SECTION("token pool of zero warns in guest mode") {
    CHECK(has_warning(load_ok({{"TOKEN_POOL_SIZE", "0"}}), "TOKEN_POOL_SIZE"));
  }
  SECTION("key lists without keys") {
    CHECK(load_err({{"API_KEY", ",,"}}).message.find("API_KEY") != std::string::npos);
  }
}

TEST_CASE("config: secrets never appear in error messages") {
  const std::string secret = "sk-very-secret-123";
  const std::vector<EnvMap> envs = {
      {{"API_KEY", secret + ",with space"}},
      {{"API_KEY", "a b " + secret}},
      {{"ZAI_API_KEYS", secret + " x"}, {"API_KEY", "mine"}},
      {{"ZAI_API_KEYS", secret}, {"API_KEY", "sk-z2api-key-2024," + secret}},
      {{"ZAI_BASE_URL", "https://user:" + secret + "@host"}},
      {{"ZAI_EXTRA_HEADERS", "{\"Cookie\":\"" + secret + "\\n\"}"}},
  };
  for (const EnvMap& env : envs) {
    const Error e = load_err(env);
    INFO(e.message);
    CHECK(e.message.find(secret) == std::string::npos);
    CHECK(e.message.find("sk-z2api-key-2024") == std::string::npos);
  }
}

TEST_CASE("config: MODEL_MAP merges over the active table") {
  const Config g = load_ok(
      {{"MODEL_MAP", R"({"glm-4.6":"GLM-4-6-NEW","my-model":"0808-X","glm-5":"glm-5-turbo"})"}});
  Models want = kGuestTable;
  want[3].second = "GLM-4-6-NEW";
  want[5].second = "glm-5-turbo";
  want.emplace_back("my-model", "0808-X");
  CHECK(models_of(g) == want);
  REQUIRE(g.find_model("my-model") != nullptr);
  CHECK(g.find_model("my-model")->upstream_id == "0808-X");
  CHECK(g.find_model("glm-4.5")->upstream_id == "0727-360B-API");
  CHECK(g.find_model("gpt-4") == nullptr);

  const Config a = load_ok(
      {{"ZAI_API_KEYS", "k"}, {"API_KEY", "mine"}, {"MODEL_MAP", R"({"fast":"glm-4.5-air"})"}});
  want = kApiTable;
  want.emplace_back("fast", "glm-4.5-air");
  CHECK(models_of(a) == want);
}

TEST_CASE("config: ZAI_EXTRA_HEADERS") {
  const Config c =
      load_ok({{"ZAI_EXTRA_HEADERS", R"({"X-Trace":"on","Accept-Charset":"utf-8, *"})"}});
  REQUIRE(c.zai_extra_headers.size() == 2);
  CHECK(c.zai_extra_headers[0].name == "X-Trace");
  CHECK(c.zai_extra_headers[0].value == "on");
  CHECK(c.zai_extra_headers[1].name == "Accept-Charset");
  CHECK(c.zai_extra_headers[1].value == "utf-8, *");
  CHECK(load_ok({{"ZAI_EXTRA_HEADERS", "{}"}}).zai_extra_headers.empty());
  const Error e = load_err({{"ZAI_EXTRA_HEADERS", R"({"X:Y":"v"})"}});
  CHECK(e.message.find("ZAI_EXTRA_HEADERS") != std::string::npos);
  CHECK(e.message.find("X:Y") != std::string::npos);
}

TEST_CASE("config: help lists every variable with its default") {
  const std::string help = config_help();
  for (std::string_view name : {"PORT",
                                "HOST",
                                "API_KEY",
                                "ALLOW_OPEN_ACCESS",
                                "UPSTREAM_MODE",
                                "TOKEN_POOL_SIZE",
                                "ZAI_API_KEYS",
                                "ZAI_API_BASE_URL",
                                "ZAI_BASE_URL",
                                "ZAI_AUTH_PATH",
                                "ZAI_CHAT_PATH",
                                "ZAI_FE_VERSION",
                                "ZAI_USER_AGENT",
                                "ZAI_ACCEPT_LANGUAGE",
                                "ZAI_EXTRA_HEADERS",
                                "MODEL_MAP",
                                "SHOW_THINK_TAGS",
                                "THINKING",
                                "MAX_BODY_BYTES",
                                "SSE_MAX_EVENT_MIB",
                                "CONNECT_TIMEOUT_MS",
                                "FIRST_BYTE_TIMEOUT_MS",
                                "STREAM_IDLE_TIMEOUT_MS",
                                "REQUEST_DEADLINE_MS",
                                "MAX_ATTEMPTS",
                                "MAX_INFLIGHT_PER_CREDENTIAL",
                                "TOKEN_MAX_AGE_S",
                                "KEEPALIVE_S",
                                "CORS_ORIGINS",
                                "SHUTDOWN_GRACE_S",
                                "CLIENT_REQUEST_TIMEOUT_MS",
                                "CLIENT_IDLE_TIMEOUT_S",
                                "MAX_CONNECTIONS",
                                "UPSTREAM_CA_FILE",
                                "HTTPS_PROXY",
                                "LOG_LEVEL",
                                "LOG_BODIES"}) {
    INFO(name);
    CHECK(help.find("\n  " + std::string(name) + " ") != std::string::npos);
  }
  CHECK(help.find("(default: 3000)") != std::string::npos);
  CHECK(help.find("(default: 30000)") != std::string::npos);
  CHECK(help.find("(default: 75)") != std::string::npos);
  CHECK(help.find("(default: 10000)") != std::string::npos);
  CHECK(help.find("(default: https://api.z.ai/api/paas/v4)") != std::string::npos);
  CHECK(help.find(std::string("(default: z-ai-proxy/") + kVersion + ")") != std::string::npos);
}

TEST_CASE("config: CLAUDE_MODEL_MAP and Messages model names") {
  struct Row {
    std::string name;
    std::string api;    // resolved with the API-mode default map
    std::string guest;  // resolved with the guest-mode default map ("": not found)
  };
  const std::vector<Row> rows = {
      {"glm-4.6", "glm-4.6", "glm-4.6"},
      {"glm-4.6[1m]", "glm-4.6", "glm-4.6"},
      {"claude-sonnet-4-5-20250929", "glm-4.7", "glm-4.5"},
      {"claude-haiku-4-5-20251001", "glm-4.5-air", "glm-4.5"},
      {"claude-opus-4-1", "glm-5", "glm-4.5"},
      {"Claude-Opus-4-1[1m]", "glm-5", "glm-4.5"},
      {"claude-fable-5", "glm-4.7", "glm-4.5"},
      {"glm-5.3[1m]", "glm-5.3", ""},
      {"gpt-4o", "gpt-4o", ""},
  };
  const Config api = load_ok({{"ZAI_API_KEYS", "k"}, {"API_KEY", "mine"}});
  const Config guest = load_ok({});
  for (const Row& row : rows) {
    INFO(row.name);
    CHECK(api.resolve_claude_model(row.name) == row.api);
    CHECK(guest.resolve_claude_model(row.name) == row.guest);
  }

  // A map of its own, in its order: the first key contained wins.
  const Config mine =
      load_ok({{"ZAI_API_KEYS", "k"},
               {"API_KEY", "mine"},
               {"CLAUDE_MODEL_MAP", R"({"sonnet-4-5":"glm-5","sonnet":"glm-4.6"})"}});
  CHECK(mine.resolve_claude_model("claude-sonnet-4-5") == "glm-5");
  CHECK(mine.resolve_claude_model("claude-sonnet-4") == "glm-4.6");
  CHECK(mine.resolve_claude_model("claude-haiku") == "claude-haiku");  // no default any more

  for (const std::string bad :
       {R"({"claude":"gpt-4o"})", R"({"claude":""})", R"({"":"glm-4.5"})", R"(["claude"])"}) {
    INFO(bad);
    CHECK(load_err({{"CLAUDE_MODEL_MAP", bad}}).code == Errc::kInvalidConfig);
  }
  CHECK(
      load_ok({{"CLAUDE_MODEL_MAP", R"({"claude":"glm-4.6"})"}}).resolve_claude_model("claude-x") ==
      "glm-4.6");
}

}  // namespace zproxy
