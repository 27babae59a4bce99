#pragma once
// Values shared by the upstream adapters (guest, API) and the engine: the request a host
// performs, what an adapter concluded about a failure, and the semantic deltas a stream decoder
// produces (before OpenAI framing).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"

namespace zproxy {

struct Header {
  std::string name;
  std::string value;
};

// An HTTP request the host performs verbatim. `url` is absolute (scheme://host[:port]/path?q).
struct UpstreamRequest {
  std::string method;
  std::string url;
  std::vector<Header> headers;
  std::string body;
};

// What an upstream failure says about the credential that was used.
enum class Verdict : uint8_t {
  kDead,          // credential rejected: never use again (fetched credentials get replaced)
  kCooldown,      // credential busy or out of quota: unusable until the cooldown ends
  kTransient,     // not the credential's fault (overload, network): another attempt may succeed
  kClientFault,   // the request itself is refused: never retry it on another credential
  kUpstreamWide,  // upstream refuses every credential alike (signature, CAPTCHA, firewall, version)
};

struct UpstreamFailure {
  Error error;  // what the client sees if this failure is final
  Verdict verdict = Verdict::kTransient;
  int64_t cooldown_ms = 0;    // kCooldown: duration from now (0: the pool's default)
  int64_t reset_wall_ms = 0;  // kCooldown: absolute wall-clock end (Unix ms), 0 when unknown
};

// May another credential be tried for this failure (when nothing reached the client yet)?
inline bool retry_elsewhere(Verdict v) {
  return v == Verdict::kDead || v == Verdict::kCooldown || v == Verdict::kTransient;
}

enum class FinishReason : uint8_t { kStop, kLength, kToolCalls, kContentFilter };

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  int64_t cached_tokens = -1;     // -1: not reported
  int64_t reasoning_tokens = -1;  // -1: not reported
};

// One tool call fragment as upstream sent it. Views are valid during the call only.
struct ToolCallDelta {
  int index = 0;
  std::string_view id;         // may be empty on continuation fragments
  std::string_view type;       // "function" or empty
  std::string_view name;       // may be empty on continuation fragments
  std::string_view arguments;  // raw JSON text fragment
};

// A web page upstream's web search consulted (API mode, WEB_SEARCH=on).
struct Citation {
  std::string_view url;
  std::string_view title;
};

// Receives a decoded upstream answer in order. Text views are valid during the call only.
// A decoder calls exactly one of on_end() or on_failure() last.
class DeltaSink {
 public:
  virtual ~DeltaSink() = default;
  virtual void on_reasoning(std::string_view text) = 0;
  virtual void on_content(std::string_view text) = 0;
  virtual void on_tool_call(const ToolCallDelta& call) = 0;
  virtual void on_usage(const Usage& usage) = 0;
  // Web search results the answer rests on (API mode with WEB_SEARCH=on); most sinks ignore them.
  virtual void on_citations(std::span<const Citation> citations) { (void)citations; }
  // How upstream said the choice ended; absent means kStop at on_end().
  virtual void on_finish_reason(FinishReason reason) = 0;
  // The upstream end marker was seen: the answer is complete.
  virtual void on_end() = 0;
  // Upstream failed (error frame, malformed data, or truncation).
  virtual void on_failure(const UpstreamFailure& failure) = 0;
};

}  // namespace zproxy
