#pragma once
// What a guest-mode upstream failure means (docs/upstream.md §1.6), for HTTP answers and for
// error frames inside a 200 stream alike.

#include <cstdint>
#include <string_view>

#include "core/upstream.h"
#include "json/value.h"

namespace zproxy::guest {

// An upstream error as reported: `code` is 0 when absent; `code_text` is a non-numeric code
// such as "FRONTEND_CAPTCHA_REQUIRED"; `detail` is the human-readable text.
struct UpstreamErrorInfo {
  int64_t code = 0;
  std::string_view code_text;
  std::string_view detail;
};

// The error carried by an upstream JSON document, absent when none: `error` (object or
// string), `data.error`, `data.data.error`, or a document that is only {"detail": …}.
JsonValue find_error(JsonValue doc);

// Reads an error value: an object {detail|message, code} or a bare string. Views point into
// `error`.
UpstreamErrorInfo read_error(JsonValue error);

// The verdict for an error frame; `http_status` is 200 for in-stream frames and stands in for
// a missing code otherwise.
UpstreamFailure classify_error(int http_status, const UpstreamErrorInfo& info);

}  // namespace zproxy::guest
