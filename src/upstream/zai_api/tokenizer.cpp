// Z.AI's tokenizer (docs/upstream.md §2.5): POST {api_base}/tokenizer with the model, the
// messages and the tools in the chat request's form; the count is usage.prompt_tokens.

#include "json/json.h"
#include "upstream/zai_api/api.h"
#include "upstream/zai_api/request_writer.h"

namespace zproxy::api {

std::string_view tokenizer_model(std::string_view upstream_model) {
  constexpr std::string_view kDocumented[] = {"glm-4.5", "glm-4.6", "glm-4.6v"};
  for (std::string_view m : kDocumented) {
    if (upstream_model == m) return m;
  }
  return "glm-4.6";
}

UpstreamRequest build_tokenizer_request(const CanonicalRequest& request, const Config& config,
                                        std::string_view upstream_model, std::string_view api_key) {
  UpstreamRequest out;
  out.method = "POST";
  out.url = config.zai_api_base_url + "/tokenizer";
  add_common_headers(out.headers, config, api_key, "application/json");
  JsonBuffer buf;
  buf.reserve(request.text_bytes + 256);
  JsonWriter w(buf);
  w.StartObject();
  w.Key("model");
  w.String(tokenizer_model(upstream_model));
  write_messages(w, request);
  if (request.has_tools()) {
    w.Key("tools");
    w.StartArray();
    for (const Tool& tool : request.tools) write_tool(w, tool);
    w.EndArray();
  }
  w.EndObject();
  out.body = buf.take();
  return out;
}

std::optional<int64_t> tokenizer_count(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc || !doc->is_object()) return std::nullopt;
  const std::optional<int64_t> n = doc->member("usage").member("prompt_tokens").int64();
  if (!n || *n < 0) return std::nullopt;
  return n;
}

}  // namespace zproxy::api
