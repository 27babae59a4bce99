// The anonymous guest token (docs/upstream.md §1.1).
#include <string>

#include "json/json.h"
#include "upstream/guest/guest.h"
#include "upstream/guest/upstream_headers.h"

namespace zproxy::guest {
namespace {

bool looks_like_html(std::string_view body) {
  const size_t start = body.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && body[start] == '<';
}

}  // namespace

UpstreamRequest build_token_request(const Config& config) {
  UpstreamRequest req;
  req.method = "GET";
  req.url = join_url(config.zai_base_url, config.zai_auth_path);
  req.headers.push_back(Header{"Accept", "application/json"});
  add_protocol_headers(req.headers, config, join_url(config.zai_base_url, "/"));
  add_extra_headers(req.headers, config);
  return req;
}

Result<std::string> parse_token_response(int status, std::string_view body) {
  if (status == 405 || looks_like_html(body)) {
    return make_error(
        Errc::kUpstreamRejected,
        "upstream firewall blocked the guest token request (HTTP " + std::to_string(status) + ")");
  }
  if (status != 200) {
    return make_error(Errc::kUpstreamBadResponse,
                      "guest token request failed with HTTP " + std::to_string(status));
  }
  auto doc = parse_json(body);
  if (!doc.ok() || !doc->is_object()) {
    return make_error(Errc::kUpstreamBadResponse, "guest token answer is not a JSON object");
  }
  const std::string_view token = doc->member("token").string();
  if (token.empty()) {
    return make_error(Errc::kUpstreamBadResponse, "guest token answer has no token");
  }
  return std::string(token);
}

}  // namespace zproxy::guest
