#include "upstream/guest/upstream_headers.h"
#include "core/ascii.h"

#include <algorithm>
#include <cctype>

namespace zproxy::guest {
namespace {

void add(std::vector<Header>& headers, std::string_view name, std::string_view value) {
  if (!value.empty()) headers.push_back(Header{std::string(name), std::string(value)});
}

}  // namespace

std::string join_url(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  std::string url(base);
  if (path.empty() || path.front() != '/') url.push_back('/');
  url.append(path);
  return url;
}

void add_protocol_headers(std::vector<Header>& headers, const Config& config,
                          std::string_view referer) {
  add(headers, "Accept-Language", config.zai_accept_language);
  add(headers, "Origin", config.zai_base_url);
  add(headers, "Referer", referer);
  add(headers, "User-Agent", config.zai_user_agent);
  add(headers, "X-FE-Version", config.zai_fe_version);
}

void add_extra_headers(std::vector<Header>& headers, const Config& config) {
  for (const Header& extra : config.zai_extra_headers) {
    std::erase_if(headers, [&](const Header& h) { return iequals(h.name, extra.name); });
  }
  headers.insert(headers.end(), config.zai_extra_headers.begin(), config.zai_extra_headers.end());
}

}  // namespace zproxy::guest
