// Upstream failures of the official API (docs/upstream.md §2.4). Z.AI answers 429 for balance
// and account problems too, so the business code in
//   {"error":{"code":"1302"|1302,"message":"…"}}
// decides first (older answers put {"code","msg"} at the top level); the HTTP status decides
// only for codes missing or unknown, and for bodies that are not JSON.
//
// Messages the client may see never quote a non-JSON body (HTML pages) and quote upstream's
// JSON message only sanitized (see quote()). The API key is never an input here.

#include <optional>

#include "json/json.h"
#include "upstream/zai_api/api.h"
#include "upstream/zai_api/reset_time.h"

namespace zproxy::api {
namespace {

constexpr int64_t kSecondMs = 1000;
constexpr int64_t kHourMs = 3600 * kSecondMs;
constexpr int64_t kBusyCooldownMs = 5 * kSecondMs;        // 1302, 1303, bare 429
constexpr int64_t kBalanceCooldownMs = 6 * kHourMs;       // 1113: re-probe a few times a day
constexpr int64_t kPlanWindowFallbackMs = kHourMs;        // 1308/1310 without a readable time
constexpr int64_t kPastResetCooldownMs = 60 * kSecondMs;  // 1308/1310 naming a past time
constexpr int64_t kFairUseCooldownMs = 24 * kHourMs;      // 1313
constexpr size_t kMaxQuotedBytes = 200;
constexpr size_t kMinSecretRun = 32;  // shorter runs (request ids: 30) are kept

struct Body {
  int64_t code = -1;       // business code, -1 when absent or not a number
  std::string message;     // upstream's message (JSON bodies only), sanitized by quote()
  std::string raw;         // the same, as sent (never shown: read for reset times)
  bool has_error = false;  // a JSON error object (or top-level code) was found
};

bool secret_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// Control characters become spaces, runs of kMinSecretRun or more key-alphabet characters
// become "[redacted]" (a key echoed back must not reach a client), and the result is cut to
// kMaxQuotedBytes on a UTF-8 boundary. Input is valid UTF-8 (parse_json validated it).
std::string quote(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t run = i;
    while (run < s.size() && secret_char(s[run])) ++run;
    if (run - i >= kMinSecretRun) {
      out += "[redacted]";
    } else {
      for (size_t j = i; j < run; ++j) out += s[j];
    }
    if (run == s.size()) break;
    const unsigned char c = static_cast<unsigned char>(s[run]);
    out += (c < 0x20 || c == 0x7f) ? ' ' : s[run];
    i = run + 1;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  const size_t lead = out.find_first_not_of(' ');
  out.erase(0, lead == std::string::npos ? out.size() : lead);
  if (out.size() <= kMaxQuotedBytes) return out;
  size_t cut = kMaxQuotedBytes;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  out.resize(cut);
  return out + "…";
}

int64_t code_of(JsonValue v) {
  if (const std::optional<int64_t> n = v.int64()) return *n >= 0 ? *n : -1;
  if (!v.is_string()) return -1;
  const std::string_view s = v.string();
  if (s.empty() || s.size() > 9) return -1;
  int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

Body read_body(std::string_view text) {
  Body body;
  auto doc = parse_json(text);
  if (!doc || !doc->is_object()) return body;
  JsonValue obj = doc->member("error");
  if (obj.is_string()) {
    body.has_error = true;
    body.raw = obj.string();
    body.message = quote(body.raw);
    return body;
  }
  const bool nested = obj.is_object();
  if (!nested) obj = *doc;  // {"code","msg"} at top level
  body.code = code_of(obj.member("code"));
  std::string_view msg = obj.member("message").string();
  if (msg.empty()) msg = obj.member("msg").string();
  body.raw = msg;
  body.message = quote(msg);
  body.has_error = nested || body.code >= 0;
  return body;
}

UpstreamFailure make(Errc errc, std::string message, Verdict verdict, std::string param = {}) {
  UpstreamFailure f;
  f.error = make_error(errc, std::move(message), std::move(param));
  f.verdict = verdict;
  return f;
}

UpstreamFailure cooldown(Errc errc, std::string message, int64_t cooldown_ms,
                         int64_t reset_wall_ms = 0) {
  UpstreamFailure f = make(errc, std::move(message), Verdict::kCooldown);
  f.cooldown_ms = cooldown_ms;
  f.reset_wall_ms = reset_wall_ms;
  return f;
}

// "text (code N)", or "text: upstream message (code N)" when quoting.
std::string say(std::string_view text, int64_t code, std::string_view quoted = {}) {
  std::string s(text);
  if (!quoted.empty()) s.append(": ").append(quoted);
  return s + " (code " + std::to_string(code) + ")";
}

// 1308/1310: the reset time is in the message, in UTC+8.
UpstreamFailure plan_window(int64_t code, const Body& body, int64_t now) {
  const std::string text = "usage limit of an upstream API key reached";
  const std::optional<int64_t> reset = detail::find_utc8_time(body.raw);
  if (!reset) return cooldown(Errc::kRateLimitExceeded, say(text, code), kPlanWindowFallbackMs);
  const std::string when = text + "; it resets at " + detail::format_utc8(*reset) + " UTC+8";
  if (*reset <= now)
    return cooldown(Errc::kRateLimitExceeded, say(when, code), kPastResetCooldownMs);
  return cooldown(Errc::kRateLimitExceeded, say(when, code), *reset - now, *reset);
}

// Codes that say something about the key: kDead or kCooldown.
std::optional<UpstreamFailure> by_key_code(int64_t code, const Body& body, int64_t now) {
  switch (code) {
    case 1000:
    case 1002:
    case 1003:
    case 1004:
      return make(Errc::kUpstreamError, say("upstream rejected the API key", code), Verdict::kDead);
    case 1110:
    case 1111:
    case 1112:
    case 1121:
      return make(Errc::kUpstreamError,
                  say("the upstream account of an API key is inactive, missing or locked", code),
                  Verdict::kDead);
    case 1113:
      return cooldown(Errc::kUpstreamError,
                      say("insufficient balance on an upstream API key (or the key does not "
                          "belong to ZAI_API_BASE_URL's plan)",
                          code),
                      kBalanceCooldownMs);
    case 1302:
    case 1303:
      return cooldown(Errc::kRateLimitExceeded, say("upstream rate limit reached", code),
                      kBusyCooldownMs);
    case 1304: {
      const int64_t reset = detail::next_utc8_midnight(now);
      return cooldown(Errc::kRateLimitExceeded,
                      say("daily limit of an upstream API key reached", code), reset - now, reset);
    }
    case 1308:
    case 1310: return plan_window(code, body, now);
    case 1313:
      return cooldown(Errc::kRateLimitExceeded,
                      say("fair-use restriction on an upstream API key", code), kFairUseCooldownMs);
    default: return std::nullopt;
  }
}

// Codes that say something about the request or upstream's health.
std::optional<UpstreamFailure> by_request_code(int64_t code, const Body& body) {
  const std::string_view msg = body.message;
  switch (code) {
    case 500:
    case 1230:
    case 1234:
      return make(Errc::kUpstreamError, say("upstream is overloaded or failed", code, msg),
                  Verdict::kTransient);
    case 1305:
    case 1312:
      return make(Errc::kUpstreamOverloaded,
                  say("upstream is overloaded or the model is briefly unavailable", code, msg),
                  Verdict::kTransient);
    case 1210:
    case 1212:
    case 1213:
    case 1214:
    case 1215:
      return make(Errc::kInvalidValue, say("upstream refused the request", code, msg),
                  Verdict::kClientFault);
    case 1211:
      return make(Errc::kModelNotFound, say("upstream does not know the model", code, msg),
                  Verdict::kClientFault, "model");
    case 1261:
      return make(Errc::kContextLengthExceeded,
                  say("the prompt exceeds the model's context length", code, msg),
                  Verdict::kClientFault, "messages");
    case 1301:
      return make(Errc::kContentFilter, say("upstream refused the content as unsafe", code, msg),
                  Verdict::kClientFault);
    default: return std::nullopt;
  }
}

// Codes absent or unknown: the HTTP status decides.
UpstreamFailure by_status(int status, const Body& body) {
  std::string tag = "HTTP " + std::to_string(status);
  if (body.code >= 0) tag += ", code " + std::to_string(body.code);
  const auto said = [&](std::string_view text, bool quoted) {
    std::string s(text);
    if (quoted && !body.message.empty()) s.append(": ").append(body.message);
    return s + " (" + tag + ")";
  };
  if (status == 401 || status == 403) {
    return make(Errc::kUpstreamError, said("upstream rejected the API key", false), Verdict::kDead);
  }
  if (status == 404 && !body.has_error) {
    return make(Errc::kUpstreamError,
                said("upstream chat endpoint not found; check ZAI_API_BASE_URL", false),
                Verdict::kUpstreamWide);
  }
  if (status == 429) {
    return cooldown(Errc::kRateLimitExceeded, said("upstream rate limit reached", true),
                    kBusyCooldownMs);
  }
  if (status >= 400 && status < 500 && status != 408) {
    return make(Errc::kInvalidValue, said("upstream refused the request", true),
                Verdict::kClientFault);
  }
  if (status == 503) {
    return make(Errc::kUpstreamOverloaded, said("upstream is overloaded", true),
                Verdict::kTransient);
  }
  return make(Errc::kUpstreamError, said("upstream error", true), Verdict::kTransient);
}

}  // namespace

UpstreamFailure classify_failure(int http_status, std::string_view body, int64_t now_wall_ms) {
  const Body parsed = read_body(body);
  if (parsed.code >= 0) {
    if (auto f = by_key_code(parsed.code, parsed, now_wall_ms)) return std::move(*f);
    if (auto f = by_request_code(parsed.code, parsed)) return std::move(*f);
  }
  return by_status(http_status, parsed);
}

}  // namespace zproxy::api
