#include "upstream/guest/classify.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/ascii.h"
#include "json/json.h"
#include "upstream/guest/guest.h"

namespace zproxy::guest {
namespace {

constexpr size_t kMaxQuotedBytes = 200;

// An HTML page (firewall, proxy or error page) rather than an API answer.
bool looks_like_html(std::string_view body) {
  const size_t start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return false;
  const std::string_view head = body.substr(start, 1024);
  return icontains(head, "<!doctype html") || icontains(head, "<html") ||
         icontains(head, "<head") || icontains(head, "<body");
}

// Upstream's own words, shortened at a UTF-8 boundary; never markup.
std::string quote_detail(std::string_view detail) {
  if (detail.empty() || detail.find('<') != std::string_view::npos) return {};
  size_t n = std::min(detail.size(), kMaxQuotedBytes);
  while (n < detail.size() && n > 0 && (static_cast<unsigned char>(detail[n]) & 0xC0) == 0x80) --n;
  std::string out = ": ";
  out.append(detail.substr(0, n));
  if (n < detail.size()) out.append("…");
  return out;
}

bool is_concurrency_message(std::string_view text) {
  return icontains(text, "concurren") || icontains(text, "too many requests") ||
         icontains(text, "rate limit") || text.find("并发") != std::string_view::npos;
}

// " (HTTP 400)", " (code 426)", " (HTTP 400, code 1234)" or "".
std::string where(int http_status, int64_t code) {
  std::string out;
  if (http_status != 200) out = "HTTP " + std::to_string(http_status);
  if (code != 0 && code != http_status) {
    out += (out.empty() ? "code " : ", code ") + std::to_string(code);
  }
  return out.empty() ? out : " (" + out + ")";
}

UpstreamFailure failure(Errc code, std::string message, Verdict verdict) {
  return UpstreamFailure{.error = make_error(code, std::move(message)), .verdict = verdict};
}

UpstreamFailure firewall() {
  return failure(Errc::kUpstreamRejected,
                 "upstream firewall blocked the request; if this persists, use API mode "
                 "(UPSTREAM_MODE=api)",
                 Verdict::kUpstreamWide);
}

// Rejections that hold for every guest token alike, recognised by their words or code.
bool classify_upstream_wide(const UpstreamErrorInfo& info, UpstreamFailure& out) {
  const std::string_view text = info.detail;
  if (icontains(info.code_text, "CAPTCHA") || icontains(text, "CAPTCHA")) {
    out = failure(Errc::kUpstreamRejected,
                  "upstream now requires a CAPTCHA for guest chats, which this proxy does not "
                  "solve; use API mode (UPSTREAM_MODE=api)",
                  Verdict::kUpstreamWide);
    return true;
  }
  if (icontains(text, "signature") || icontains(info.code_text, "signature")) {
    out = failure(Errc::kUpstreamRejected,
                  "upstream now requires request signatures, which this proxy does not "
                  "produce; use API mode (UPSTREAM_MODE=api)",
                  Verdict::kUpstreamWide);
    return true;
  }
  if (info.code == 426) {
    out = failure(Errc::kUpstreamRejected,
                  "upstream rejected the web client version as outdated; set ZAI_FE_VERSION "
                  "to the current chat.z.ai client version",
                  Verdict::kUpstreamWide);
    return true;
  }
  if (info.code == 405) {
    out = firewall();
    return true;
  }
  return false;
}

}  // namespace

JsonValue find_error(JsonValue doc) {
  auto usable = [](JsonValue v) { return v.is_object() || !v.string().empty(); };
  if (!doc.is_object()) return {};
  if (JsonValue e = doc.member("error"); usable(e)) return e;
  if (JsonValue data = doc.member("data"); data.is_object()) {
    if (JsonValue e = data.member("error"); usable(e)) return e;
    if (JsonValue inner = data.member("data"); inner.is_object()) {
      if (JsonValue e = inner.member("error"); usable(e)) return e;
    }
  }
  if (doc.size() <= 2 && usable(doc.member("detail"))) return doc;
  return {};
}

UpstreamErrorInfo read_error(JsonValue error) {
  UpstreamErrorInfo info;
  if (error.is_string()) {
    info.detail = error.string();
    return info;
  }
  if (!error.is_object()) return info;
  info.detail = error.member("detail").string(error.member("message").string());
  if (JsonValue code = error.member("code")) {
    if (const std::optional<int64_t> n = code.int64()) {
      info.code = *n;
    } else if (code.is_string()) {
      info.code_text = code.string();
      const std::string text(info.code_text);
      char* end = nullptr;
      const long long n = std::strtoll(text.c_str(), &end, 10);
      if (!text.empty() && end == text.c_str() + text.size()) info.code = n;
    }
  }
  return info;
}

UpstreamFailure classify_error(int http_status, const UpstreamErrorInfo& info_in) {
  UpstreamErrorInfo info = info_in;
  if (info.code == 0 && http_status != 200) info.code = http_status;
  UpstreamFailure out;
  if (classify_upstream_wide(info, out)) return out;
  const std::string quoted = quote_detail(info.detail);
  const std::string code = where(http_status, info.code);
  // An HTTP-like code decides the class; a business code (e.g. 1214) defers to the status.
  const int64_t klass = info.code >= 100 && info.code <= 599 ? info.code
                        : http_status != 200                 ? http_status
                                                             : 0;
  if (klass == 401) {
    return failure(Errc::kUpstreamError, "upstream rejected the guest token" + code + quoted,
                   Verdict::kDead);
  }
  if (klass == 429 || is_concurrency_message(info.detail)) {
    return failure(Errc::kRateLimitExceeded,
                   "the guest account is busy (too many concurrent requests)" + code + quoted,
                   Verdict::kCooldown);
  }
  if (klass == 403 && icontains(info.detail, "model")) {
    return failure(Errc::kModelNotAvailable,
                   "this model is not available to guest accounts; use API mode "
                   "(UPSTREAM_MODE=api)",
                   Verdict::kClientFault);
  }
  if (klass >= 400 && klass < 500) {
    return failure(Errc::kUpstreamError, "upstream refused the request" + code + quoted,
                   Verdict::kClientFault);
  }
  return failure(Errc::kUpstreamError, "upstream failed" + code + quoted, Verdict::kTransient);
}

UpstreamFailure classify_http_failure(int status, std::string_view body) {
  if (status == 405 || looks_like_html(body)) return firewall();
  UpstreamErrorInfo info;
  auto doc = parse_json(body);
  if (doc.ok()) {
    if (JsonValue error = find_error(*doc)) info = read_error(error);
  }
  // The HTTP status decides the token's fate; a business code inside only refines the reason.
  if (status == 401 || status == 429) info.code = status;
  if (info.code == 0 || status >= 500) info.code = status;
  return classify_error(status, info);
}

}  // namespace zproxy::guest
