#pragma once
// The web client's protocol headers (docs/upstream.md §1.1), shared by the token and chat
// requests. Values come from Config; a setting left empty sends no header.

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/upstream.h"

namespace zproxy::guest {

// {base}{path}, with exactly one "/" between them.
std::string join_url(std::string_view base, std::string_view path);

// Appends Accept-Language, Origin, Referer, User-Agent and X-FE-Version.
void add_protocol_headers(std::vector<Header>& headers, const Config& config,
                          std::string_view referer);

// Appends ZAI_EXTRA_HEADERS last, each replacing any header of the same name
// (case-insensitive) set before it.
void add_extra_headers(std::vector<Header>& headers, const Config& config);

}  // namespace zproxy::guest
