// Golden-fixture support: a Translator from a fixture's options and the transcript a client
// would see. Test and benchmark code only; nothing here ships.

#include "fixture.h"

#include "dialect/anthropic_messages/emitter.h"
#include "dialect/openai_chat/emitter.h"
#include "json/json.h"

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

}  // namespace

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
