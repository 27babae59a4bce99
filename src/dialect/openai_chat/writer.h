#pragma once
// OpenAI framing and the small fixed-shape documents (models list, model object). The chunk
// and completion writers used while translating live in emitter.cpp; this file owns the SSE
// framing so it exists once.

#include <cstddef>
#include <cstdint>
#include <memory>
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
// The same without the quotes: what goes between them.
void append_json_escaped(std::string& out, std::string_view s);

// An output byte buffer for many small appends, handed out as a std::string. Its appends copy
// inline, eight bytes at a time: through std::string, each one is a library call, and under
// Emscripten both libc++'s string code and memcpy are slow at this (memcpy copies byte by byte
// whenever source and destination differ in alignment).
class OutputBuffer {
 public:
  OutputBuffer() = default;
  OutputBuffer(OutputBuffer&&) noexcept = default;
  OutputBuffer& operator=(OutputBuffer&&) noexcept = default;

  OutputBuffer& operator+=(std::string_view s);
  OutputBuffer& operator+=(char c) { return *this += std::string_view(&c, 1); }
  // `s` as append_json_escaped writes it.
  void append_json_escaped(std::string_view s);

  // The bytes appended since the last call.
  std::string take();

 private:
  // Beyond this, the buffer is released by take(): one large output does not keep its memory
  // for the rest of the stream.
  static constexpr size_t kKeepBytes = 64u << 10;

  char* room(size_t n);  // where the next n bytes go

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Both SDKs' models.list() read the same answer: OpenAI's fields, and Anthropic's beside them.
// {"object":"list","data":[model objects],"has_more":false,"first_id","last_id"} (ids null when
// the list is empty)
std::string models_list_json(const std::vector<ModelEntry>& models, int64_t created);
// {"id","object":"model","created","owned_by":"z-ai","type":"model","display_name",
//  "created_at":"YYYY-MM-DDTHH:MM:SSZ"}; `created` is Unix seconds, display_name the id
std::string model_json(const ModelEntry& model, int64_t created);

}  // namespace zproxy
