#pragma once
// OpenAI framing and the small fixed-shape documents (models list, model object). The chunk
// and completion writers used while translating live in emitter.cpp; this file owns the SSE
// framing so it exists once.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace zproxy {

inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";
inline constexpr std::string_view kSseKeepAlive = ": keep-alive\n\n";

// "data: " + json + "\n\n" appended to out.
void append_sse_data(std::string& out, std::string_view json);

// `s` as a compact JSON string literal, quotes included, appended to out. Escapes `"`, `\\` and
// control characters (\b \f \n \r \t, else \u00XX); other UTF-8 passes through as is. Bytes
// that are not valid UTF-8 become U+FFFD, one per byte, so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

// {"object":"list","data":[model objects]}
std::string models_list_json(const std::vector<ModelEntry>& models, int64_t created);
// {"id","object":"model","created","owned_by":"z-ai"}
std::string model_json(const ModelEntry& model, int64_t created);

}  // namespace zproxy
