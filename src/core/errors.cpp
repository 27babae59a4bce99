#include "core/errors.h"

#include "json/writer.h"

namespace zproxy {

ErrcInfo errc_info(Errc e) {
  constexpr std::string_view kInvalid = "invalid_request_error";
  switch (e) {
    case Errc::kInvalidJson: return {400, kInvalid, "invalid_json"};
    case Errc::kInvalidValue: return {400, kInvalid, "invalid_value"};
    case Errc::kMissingRequiredParameter: return {400, kInvalid, "missing_required_parameter"};
    case Errc::kUnsupportedValue: return {400, kInvalid, "unsupported_value"};
    case Errc::kContextLengthExceeded: return {400, kInvalid, "context_length_exceeded"};
    case Errc::kContentFilter: return {400, kInvalid, "content_filter"};
    case Errc::kInvalidApiKey: return {401, kInvalid, "invalid_api_key"};
    case Errc::kModelNotAvailable: return {403, kInvalid, "model_not_available"};
    case Errc::kModelNotAllowed: return {403, kInvalid, "model_not_allowed"};
    case Errc::kNotFound: return {404, kInvalid, "not_found"};
    case Errc::kModelNotFound: return {404, kInvalid, "model_not_found"};
    case Errc::kMethodNotAllowed: return {405, kInvalid, "method_not_allowed"};
    case Errc::kRequestTimeout: return {408, kInvalid, "request_timeout"};
    case Errc::kRequestTooLarge: return {413, kInvalid, "request_too_large"};
    case Errc::kRateLimitExceeded: return {429, "rate_limit_error", "rate_limit_exceeded"};
    case Errc::kInsufficientQuota: return {429, "insufficient_quota", "insufficient_quota"};
    case Errc::kInvalidConfig: return {500, "server_error", "invalid_config"};
    case Errc::kInternalError: return {500, "server_error", "internal_error"};
    case Errc::kUpstreamRejected: return {502, "upstream_error", "upstream_rejected"};
    case Errc::kUpstreamTruncated: return {502, "upstream_error", "upstream_truncated"};
    case Errc::kUpstreamBadResponse: return {502, "upstream_error", "upstream_bad_response"};
    case Errc::kUpstreamError: return {502, "upstream_error", "upstream_error"};
    case Errc::kNoCredentials: return {503, "server_error", "no_credentials"};
    case Errc::kServerOverloaded: return {503, "server_error", "server_overloaded"};
    case Errc::kUpstreamOverloaded: return {503, "upstream_error", "upstream_overloaded"};
    case Errc::kUpstreamTimeout: return {504, "upstream_error", "upstream_timeout"};
  }
  return {500, "server_error", "internal_error"};
}

Errc host_errc(int status) {
  if (status == 408) return Errc::kRequestTimeout;
  if (status == 503) return Errc::kServerOverloaded;
  return status >= 500 ? Errc::kInternalError : Errc::kInvalidValue;
}

std::string error_json(const Error& e) {
  const ErrcInfo info = errc_info(e.code);
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("message");
  w.String(e.message);
  w.Key("type");
  w.String(info.type);
  w.Key("param");
  if (e.param.empty()) {
    w.Null();
  } else {
    w.String(e.param);
  }
  w.Key("code");
  w.String(info.code);
  w.EndObject();
  w.EndObject();
  return buf.take();
}

}  // namespace zproxy
