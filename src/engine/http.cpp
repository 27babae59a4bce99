#include "engine/http.h"

#include <cstdint>

namespace zproxy {

namespace {

constexpr std::string_view kModelsPrefix = "/v1/models/";

}  // namespace

std::string_view find_header(std::span<const HeaderView> headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

RouteMatch match_route(std::string_view method, std::string_view path) {
  RouteMatch m;
  auto fixed = [&](Route route, std::string_view allowed_method, std::string_view allow) {
    m.route = route;
    m.known_path = true;
    m.allow = allow;
    m.method_ok = method == allowed_method || (allowed_method == "GET" && method == "HEAD");
  };
  m.anthropic = path == "/v1/messages" || path.starts_with("/v1/messages/");
  if (path == "/v1/chat/completions") {
    fixed(Route::kChatCompletions, "POST", "POST, OPTIONS");
  } else if (path == "/v1/messages") {
    fixed(Route::kMessages, "POST", "POST");
  } else if (path == "/v1/messages/count_tokens") {
    fixed(Route::kCountTokens, "POST", "POST");
  } else if (path == "/v1/responses") {
    fixed(Route::kResponses, "POST", "POST");
  } else if (path.starts_with("/v1/responses/")) {
    m.route = Route::kResponses;  // stored responses: none here (404), counted as the route
  } else if (path == "/v1/models") {
    fixed(Route::kModels, "GET", "GET, HEAD, OPTIONS");
  } else if (path.size() > kModelsPrefix.size() && path.starts_with(kModelsPrefix)) {
    fixed(Route::kModels, "GET", "GET, HEAD, OPTIONS");
    m.model_id = path.substr(kModelsPrefix.size());
  } else if (path == "/admin/keys") {
    fixed(Route::kAdmin, "GET", "GET, HEAD, OPTIONS");
  } else if (path.starts_with("/admin/credentials/") && path.size() > 19) {
    fixed(Route::kAdmin, "DELETE", "DELETE, OPTIONS");
  } else if (path == "/v1/usage") {
    fixed(Route::kUsage, "GET", "GET, HEAD, OPTIONS");
  } else if (path == "/healthz") {
    fixed(Route::kHealthz, "GET", "GET, HEAD, OPTIONS");
  } else if (path == "/readyz") {
    fixed(Route::kReadyz, "GET", "GET, HEAD, OPTIONS");
  } else if (path == "/metrics") {
    fixed(Route::kMetrics, "GET", "GET, HEAD, OPTIONS");
  }
  return m;
}

std::string_view presented_key(std::string_view authorization_header, std::string_view x_api_key) {
  std::string_view h = x_api_key;
  if (h.empty()) {
    h = authorization_header;
    if (h.size() < 7 || !iequals(h.substr(0, 7), "bearer ")) return {};
    h.remove_prefix(7);
  }
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  return h;
}

std::string_view sane_request_id(std::string_view v) {
  if (v.empty() || v.size() > 128) return {};
  for (char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return {};
  }
  return v;
}

void add_cors_headers(std::vector<Header>& out, const std::vector<std::string>& allowed,
                      std::string_view origin, bool anthropic) {
  bool any = false;
  for (const auto& a : allowed) any |= (a == "*");
  if (any) {
    out.push_back({"Access-Control-Allow-Origin", "*"});
  } else {
    for (const auto& a : allowed) {
      if (!origin.empty() && a == origin) {
        out.push_back({"Access-Control-Allow-Origin", std::string(origin)});
        break;
      }
    }
    out.push_back({"Vary", "Origin"});
  }
  out.push_back({"Access-Control-Expose-Headers", anthropic
                                                      ? "X-Request-Id, Retry-After, request-id"
                                                      : "X-Request-Id, Retry-After"});
}

void add_retry_after(std::vector<Header>& out, int status, int64_t seconds) {
  if (seconds < 0 || (status != 429 && status != 503 && status != 529)) return;
  out.push_back({"Retry-After", std::to_string(seconds < 1 ? 1 : seconds)});
}

void add_preflight_headers(std::vector<Header>& out, std::string_view requested_headers) {
  out.push_back({"Access-Control-Allow-Methods", "GET, POST, OPTIONS"});
  out.push_back({"Access-Control-Allow-Headers",
                 requested_headers.empty() ? "Authorization, Content-Type, X-Request-Id, "
                                             "x-api-key, anthropic-version, anthropic-beta, "
                                             "anthropic-dangerous-direct-browser-access"
                                           : std::string(requested_headers)});
  out.push_back({"Access-Control-Max-Age", "86400"});
}

std::string percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace zproxy
