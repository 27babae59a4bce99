// parse_json, parse_json_in_place and JsonEventParser: FastReader for the common case, prescan
// and RapidJSON's reader for everything else (and for every error message), both into a
// JsonBuilder.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "json/builder.h"
#include "json/fast_reader.h"
#include "json/json.h"
#include "json/prescan.h"
#include "json/reader.h"
#include "json/reference.h"

namespace zproxy {

using detail::JsonAccess;
using detail::JsonBuilder;
using detail::JsonNode;
using detail::JsonPool;
using detail::JsonStorage;

JsonDocument::JsonDocument(std::unique_ptr<JsonStorage> storage)
    : JsonValue(&storage->root), storage_(std::move(storage)) {}

JsonDocument::JsonDocument(JsonDocument&& other) noexcept
    : JsonValue(other), storage_(std::move(other.storage_)) {
  static_cast<JsonValue&>(other) = JsonValue();
}

JsonDocument& JsonDocument::operator=(JsonDocument&& other) noexcept {
  static_cast<JsonValue&>(*this) = other;
  storage_ = std::move(other.storage_);
  static_cast<JsonValue&>(other) = JsonValue();
  return *this;
}

JsonDocument::~JsonDocument() = default;

namespace detail {

Result<JsonDocument> parse_json_reference(std::string_view text, JsonLimits limits) {
  if (auto err = prescan(text, limits)) return std::move(*err);
  auto storage = std::make_unique<JsonStorage>(pool_chunk_bytes(text.size()));
  std::vector<JsonNode> stack;
  JsonBuilder builder(storage->pool, stack);
  const rapidjson::ParseResult result = rapidjson_read(text, builder);
  if (result.IsError()) return parse_error(result);
  storage->root = builder.root();
  return JsonAccess::document(std::move(storage));
}

}  // namespace detail

Result<JsonDocument> parse_json(std::string_view text, JsonLimits limits) {
  auto storage = std::make_unique<JsonStorage>(detail::pool_chunk_bytes(text.size()));
  std::vector<JsonNode> stack;
  std::string scratch;
  JsonBuilder builder(storage->pool, stack);
  detail::FastReader<JsonBuilder> fast(text, limits, false, scratch);
  if (!fast.read(builder)) return detail::parse_json_reference(text, limits);
  storage->root = builder.root();
  return JsonAccess::document(std::move(storage));
}

Result<JsonDocument> parse_json_in_place(std::string_view text, JsonLimits limits) {
  if (auto err = detail::prescan(text, limits)) return std::move(*err);
  auto storage = std::make_unique<JsonStorage>(detail::pool_chunk_bytes(text.size()));
  // NUL-terminated, plus padding: RapidJSON's UTF-8 validation takes a multi-byte sequence's
  // continuation bytes before checking them, so a lead byte at the end reads up to 3 further.
  // The text is padded where it will stay: strings will point into it.
  constexpr size_t kPad = 4;
  storage->text.reserve(text.size() + kPad);
  storage->text.append(text).append(kPad, '\0');
  std::vector<JsonNode> stack;
  JsonBuilder builder(storage->pool, stack);
  const rapidjson::ParseResult result =
      detail::rapidjson_read_in_place(storage->text.data(), builder);
  if (result.IsError()) return detail::parse_error(result);
  storage->root = builder.root();
  return JsonAccess::document(std::move(storage));
}

// Values come from pool_, emptied before each document; a typical event fits in its first
// buffer, and the stack and scratch keep their capacity, so parsing one allocates nothing.
struct JsonEventParser::Impl {
  static constexpr size_t kBufferBytes = 8u << 10;

  Impl() : buffer(new char[kBufferBytes]), pool(buffer.get(), kBufferBytes) {}

  std::unique_ptr<char[]> buffer;
  JsonPool pool;
  std::vector<JsonNode> stack;
  std::string scratch;  // unescaped strings
  JsonNode root{};
  std::optional<JsonDocument> fallback;  // a text only the reference reader took
};

JsonEventParser::JsonEventParser() : impl_(std::make_unique<Impl>()) {}

JsonEventParser::~JsonEventParser() = default;

Result<JsonValue> JsonEventParser::parse(std::string_view text, JsonLimits limits) {
  Impl& s = *impl_;
  s.fallback.reset();
  s.pool.Clear();
  JsonBuilder builder(s.pool, s.stack);
  detail::FastReader<JsonBuilder> fast(text, limits, true, s.scratch);
  if (fast.read(builder)) {
    s.root = builder.root();
    return JsonAccess::view(&s.root);
  }
  Result<JsonDocument> checked = detail::parse_json_reference(text, limits);
  if (!checked) return std::move(checked).error();
  s.fallback.emplace(std::move(*checked));
  return static_cast<JsonValue>(*s.fallback);
}

}  // namespace zproxy
