#pragma once
// Errors as values. Every failure the proxy reports is an Errc plus a message and an optional
// `param`; the catalogue (docs/contract.md §7.3) maps each Errc to its HTTP status, OpenAI
// `type` and `code`. Nothing in the core throws.

#include <cstdint>
#include <string>
#include <string_view>

namespace zproxy {

enum class Errc : uint8_t {
  // 400
  kInvalidJson,
  kInvalidValue,
  kMissingRequiredParameter,
  kUnsupportedValue,
  kContextLengthExceeded,
  kContentFilter,
  // 401, 403, 404, 405, 408, 413
  kInvalidApiKey,
  kModelNotAvailable,
  kModelNotAllowed,  // the client key may not use that model
  kNotFound,
  kModelNotFound,
  kMethodNotAllowed,
  kRequestTimeout,
  kRequestTooLarge,
  // 429
  kRateLimitExceeded,
  kInsufficientQuota,  // a client key over its token quota
  // 500
  kInvalidConfig,
  kInternalError,
  // 502
  kUpstreamRejected,
  kUpstreamTruncated,
  kUpstreamBadResponse,
  kUpstreamError,
  // 503, 504
  kNoCredentials,
  kServerOverloaded,
  kUpstreamOverloaded,  // upstream overloaded or the model briefly unavailable (Messages: 529)
  kUpstreamTimeout,
};

struct ErrcInfo {
  int status;
  std::string_view type;  // OpenAI error `type`
  std::string_view code;  // OpenAI error `code`
};

// The catalogue row of `e`.
ErrcInfo errc_info(Errc e);

// The code of an answer a host gives on its own, outside any exchange (unparsable requests,
// client timeouts, connection limits), by its status: 408 request_timeout, 503
// server_overloaded, any other 5xx internal_error, anything else invalid_value.
Errc host_errc(int status);

struct Error {
  Errc code = Errc::kInternalError;
  std::string message;
  std::string param;  // empty means JSON null
};

inline Error make_error(Errc code, std::string message, std::string param = {}) {
  return Error{code, std::move(message), std::move(param)};
}

// `{"error":{"message":…,"type":…,"param":…|null,"code":…}}`, all four keys present.
std::string error_json(const Error& e);

}  // namespace zproxy
