#pragma once
// The pieces of the API chat request that the tokenizer request shares (request.cpp).

#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/canonical.h"
#include "json/json.h"

namespace zproxy::api {

// "messages":[…] as the chat request writes them.
void write_messages(JsonWriter& w, const CanonicalRequest& r);
// One {"type":"function","function":{…}} entry of "tools".
void write_tool(JsonWriter& w, const Tool& tool);
// Authorization, Content-Type, Accept, User-Agent, Accept-Encoding and ZAI_EXTRA_HEADERS.
void add_common_headers(std::vector<Header>& headers, const Config& config,
                        std::string_view api_key, std::string_view accept);

}  // namespace zproxy::api
