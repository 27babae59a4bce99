// Golden-fixture support: a Translator from a fixture's options and the transcript a client
// would see. Test and benchmark code only; nothing here ships.

#include "fixture.h"

#include "dialect/anthropic_messages/emitter.h"
#include "dialect/openai_chat/emitter.h"
#include "dialect/openai_responses/emitter.h"
#include "dialect/openai_responses/responses_request.h"
#include "json/json.h"
#include "json/writer.h"

namespace zproxy {

namespace {

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kDead: return "dead";
    case Verdict::kCooldown: return "cooldown";
    case Verdict::kTransient: return "transient";
    case Verdict::kClientFault: return "client_fault";
    case Verdict::kUpstreamWide: return "upstream_wide";
  }
  return "unknown";
}

}  // namespace

std::string transcript(Translator& translator) {
  Translator& em = translator;
  std::string out = em.take_output();
  if (!em.failed()) return out;
  const UpstreamFailure& f = em.failure();
  if (em.committed()) {
    em.write_error_event(f.error);
    return out + em.take_output();
  }
  const ErrorAnswer answer = error_answer(translator.dialect(), f.error, "req_fixture");
  out += "HTTP " + std::to_string(answer.status) + "\n";
  out += answer.body + "\nverdict: " + std::string(verdict_name(f.verdict)) + "\n";
  return out;
}

namespace {

Result<UpstreamShape> shape_from(std::string_view s) {
  if (s == "guest_stream") return UpstreamShape::kGuestStream;
  if (s == "api_stream") return UpstreamShape::kApiStream;
  if (s == "api_body") return UpstreamShape::kApiBody;
  return make_error(Errc::kInvalidValue, "unknown fixture shape", "shape");
}

Result<ThinkingMode> thinking_from(std::string_view s) {
  if (s.empty() || s == "reasoning_content") return ThinkingMode::kReasoningContent;
  if (s == "think_tags") return ThinkingMode::kThinkTags;
  if (s == "hidden") return ThinkingMode::kHidden;
  return make_error(Errc::kInvalidValue, "unknown thinking mode", "thinking");
}

bool json_bool(JsonValue obj, std::string_view key) {
  return obj.member(key).boolean().value_or(false);
}

// The Responses fixtures' wall clock at the end of the answer: completed_at 1700000042.
constexpr int64_t kResponsesWallMs = 1700000042000;

}  // namespace

std::string responses_fixture_request(std::string_view options_json) {
  auto doc = parse_json(options_json);
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("model");
  w.String(doc ? doc->member("model").string("glm-4.6") : "glm-4.6");
  w.Key("input");
  w.String("Hi");
  if (doc && json_bool(*doc, "stream")) {
    w.Key("stream");
    w.Bool(true);
  }
  if (doc && json_bool(*doc, "reasoning_summary")) {
    w.Key("reasoning");
    w.StartObject();
    w.Key("summary");
    w.String("auto");
    w.EndObject();
  }
  if (doc && json_bool(*doc, "encrypted_reasoning")) {
    w.Key("include");
    w.StartArray();
    w.String("reasoning.encrypted_content");
    w.EndArray();
  }
  if (doc && doc->member("tools").is_array()) {
    w.Key("tools");
    w.Value(doc->member("tools"));
  }
  w.EndObject();
  return buf.take();
}

Result<Translator> translator_from_fixture_options(std::string_view options_json) {
  auto doc = parse_json(options_json);
  if (!doc) return std::move(doc).error();
  if (!doc->is_object()) return make_error(Errc::kInvalidJson, "fixture options must be an object");
  auto shape = shape_from(doc->member("shape").string());
  if (!shape) return std::move(shape).error();
  auto thinking = thinking_from(doc->member("thinking").string());
  if (!thinking) return std::move(thinking).error();
  std::vector<std::string> stop;
  for (const JsonValue s : doc->member("stop").elements()) {
    if (s.is_string()) stop.emplace_back(s.string());
  }
  const std::string_view dialect = doc->member("dialect").string("chat");
  if (dialect == "messages") {
    MessagesEmitterOptions m;
    m.id = "msg_fixture00000000000000000";
    m.model = std::string(doc->member("model").string("claude-sonnet-4-5"));
    m.request_id = "req_fixture";
    m.stream = json_bool(*doc, "stream");
    m.thinking_text = !json_bool(*doc, "thinking_omitted");
    m.input_estimate = 42;
    m.id_seed = 7;
    return Translator(*shape, Dialect::kMessages, std::make_unique<MessagesEmitter>(std::move(m)),
                      *thinking, stop, SseLimits{}, 1764151200000);
  }
  if (dialect == "responses") {
    auto req = parse_responses_request(responses_fixture_request(options_json));
    if (!req) return std::move(req).error();
    ResponsesEmitterOptions r;
    r.id = "resp_fixture0000000000000000000000000";
    r.model = req->canonical.model;
    r.created_at = 1700000000;
    static const int64_t wall_ms = kResponsesWallMs;
    r.wall_ms = &wall_ms;
    r.stream = req->canonical.stream;
    r.reasoning_summary = req->reasoning_summary;
    r.encrypted_reasoning = req->encrypted_reasoning;
    r.echo = std::move(req->echo);
    r.tools = std::move(req->tools);
    r.id_seed = 7;
    // As the engine does (thinking_mode in src/engine/chat.cpp): reasoning is always an item
    // of its own, so think_tags acts as reasoning_content.
    const ThinkingMode mode = *thinking == ThinkingMode::kHidden ? ThinkingMode::kHidden
                                                                 : ThinkingMode::kReasoningContent;
    return Translator(*shape, Dialect::kResponses, std::make_unique<ResponsesEmitter>(std::move(r)),
                      mode, req->canonical.stop, SseLimits{}, 1764151200000);
  }
  if (dialect != "chat") return make_error(Errc::kInvalidValue, "unknown dialect", "dialect");
  ChatEmitterOptions opt;
  opt.id = "chatcmpl-fixture";
  opt.created = 1700000000;
  opt.model = std::string(doc->member("model").string("glm-4.6"));
  opt.stream = json_bool(*doc, "stream");
  opt.include_usage = json_bool(*doc, "include_usage");
  return Translator(*shape, Dialect::kChat, std::make_unique<ChatEmitter>(std::move(opt)),
                    *thinking, stop, SseLimits{}, 1764151200000);
}

}  // namespace zproxy
