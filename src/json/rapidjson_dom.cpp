// TRANSITIONAL: see json/rapidjson_dom.h.

#include "json/rapidjson_dom.h"

#include <algorithm>

#include "json/builder.h"
#include "json/prescan.h"
#include "json/reader.h"

namespace zproxy {
namespace {

// Generator for Document::Populate.
struct ReadInPlace {
  char* text;
  rapidjson::ParseResult result;

  bool operator()(rapidjson::Document& doc) {
    result = detail::rapidjson_read_in_place(text, doc);
    return !result.IsError();
  }
};

}  // namespace

Result<JsonInPlace> parse_json_in_place(std::string_view text, JsonLimits limits) {
  if (auto err = detail::prescan(text, limits)) return std::move(*err);
  JsonInPlace out;
  // NUL-terminated and padded: see parse_json_in_place(std::string).
  constexpr size_t kPad = 4;
  out.text.reset(new char[text.size() + kPad]);
  std::copy(text.begin(), text.end(), out.text.get());
  std::fill_n(out.text.get() + text.size(), kPad, '\0');
  out.pool =
      std::make_unique<rapidjson::MemoryPoolAllocator<>>(detail::pool_chunk_bytes(text.size()));
  out.doc = rapidjson::Document(out.pool.get());
  ReadInPlace read{out.text.get(), {}};
  out.doc.Populate(read);
  if (read.result.IsError()) return detail::parse_error(read.result);
  return out;
}

}  // namespace zproxy
