#pragma once
// Small HTTP-level rules of the gateway: routes, client auth, CORS and request ids.

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ascii.h"
#include "core/upstream.h"
#include "engine/metrics.h"

namespace zproxy {

using HeaderView = std::pair<std::string_view, std::string_view>;

// Case-insensitive lookup; empty when absent.
std::string_view find_header(std::span<const HeaderView> headers, std::string_view name);

struct RouteMatch {
  Route route = Route::kOther;
  bool known_path = false;    // a path we serve (with some method)
  bool method_ok = false;     // the method is served on this path
  std::string_view allow;     // Allow header value for known paths
  std::string_view model_id;  // GET /v1/models/{id}: the id (percent-decoded by caller)
  bool anthropic = false;     // /v1/messages and below: Anthropic error shape and headers
};

// `path` without the query string.
RouteMatch match_route(std::string_view method, std::string_view path);

// The client key a request presents: `x-api-key` when sent, else the bearer token of
// `Authorization`; empty when there is none.
std::string_view presented_key(std::string_view authorization_header, std::string_view x_api_key);

// The client's X-Request-Id when sane (1..128 of [A-Za-z0-9._:-]), else empty.
std::string_view sane_request_id(std::string_view client_value);

// CORS response headers for a request from `origin` (may be empty); Anthropic routes also
// expose `request-id`.
void add_cors_headers(std::vector<Header>& out, const std::vector<std::string>& allowed,
                      std::string_view origin, bool anthropic = false);
// Retry-After (whole seconds, at least 1) on a 429, 503 or 529 answer when `seconds` >= 0.
void add_retry_after(std::vector<Header>& out, int status, int64_t seconds);
// Extra headers of a preflight answer.
void add_preflight_headers(std::vector<Header>& out, std::string_view requested_headers);

// %XX decoding of a path segment; invalid escapes are kept verbatim.
std::string percent_decode(std::string_view s);

}  // namespace zproxy
