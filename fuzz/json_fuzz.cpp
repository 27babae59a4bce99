// parse_json on arbitrary bytes: it must never crash, overflow the stack or fail with anything
// but kInvalidJson / kRequestTooLarge. Differential checks: the single-pass reader (parse_json,
// JsonEventParser) against RapidJSON's reader (parse_json_reference, parse_json_in_place), same
// verdicts, errors and values; JsonWriter against RapidJSON's Writer, same bytes; an accepted
// document dumps to text that parses again to the same document (doubles within a relative
// 1e-12, or apart only in subnormal bits: parsing uses RapidJSON's normal precision).
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "json/json.h"
#include "json/reference.h"

namespace {

using zproxy::JsonMember;
using zproxy::JsonValue;

// A tight cap on the same input exercises the depth pre-scan at small depths.
constexpr size_t kSmallDepth = 4;
constexpr size_t kSmallValues = 16;
constexpr double kDoubleTolerance = 1e-12;
constexpr double kSubnormalTolerance = 2 * DBL_MIN;

bool same_number(JsonValue a, JsonValue b, bool exact) {
  if (a.int64() != b.int64() || a.uint64() != b.uint64()) return false;
  const double x = *a.number(), y = *b.number();
  if (exact) return x == y && std::signbit(x) == std::signbit(y);
  const double diff = std::fabs(x - y);
  return diff <= kDoubleTolerance * std::fmax(std::fabs(x), std::fabs(y)) ||
         diff <= kSubnormalTolerance;
}

// Structural equality, members compared in order (duplicate keys included).
bool same(JsonValue a, JsonValue b, bool exact) {
  if (a.is_null() != b.is_null() || a.boolean() != b.boolean() || a.is_number() != b.is_number() ||
      a.is_string() != b.is_string() || a.is_array() != b.is_array() ||
      a.is_object() != b.is_object()) {
    return false;
  }
  if (a.is_number()) return same_number(a, b, exact);
  if (a.string() != b.string() || a.size() != b.size()) return false;
  if (a.is_array()) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!same(a.element(i), b.element(i), exact)) return false;
    }
  }
  if (a.is_object()) {
    auto j = b.members().begin();
    for (const JsonMember m : a.members()) {
      if (m.key != (*j).key || !same(m.value, (*j).value, exact)) return false;
      ++j;
    }
  }
  return true;
}

// member() finds the last member of each name.
void check_accessors(JsonValue v) {
  for (const JsonMember m : v.members()) {
    JsonValue last;
    for (const JsonMember n : v.members()) {
      if (n.key == m.key) last = n.value;
    }
    const JsonValue found = v.member(m.key);
    if (!found || !same(found, last, true)) __builtin_trap();
    if (found.is_string() && found.string() != last.string()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto refused = [](const auto& r) {
    return r.error().code == zproxy::Errc::kInvalidJson ||
           r.error().code == zproxy::Errc::kRequestTooLarge;
  };
  auto small = zproxy::parse_json(text, {.max_depth = kSmallDepth, .max_values = kSmallValues});
  if (!small.ok() && !refused(small)) __builtin_trap();

  // The single-pass reader and RapidJSON's (copying, and in place) accept exactly the same
  // texts, into the same documents, with the same errors.
  auto doc = zproxy::parse_json(text);
  auto reference = zproxy::detail::parse_json_reference(text);
  auto in_place = zproxy::parse_json_in_place(std::string(text));
  if (reference.ok() != doc.ok() || in_place.ok() != doc.ok()) __builtin_trap();
  if (!doc.ok()) {
    if (!refused(doc)) __builtin_trap();
    if (reference.error().message != doc.error().message) __builtin_trap();
    static zproxy::JsonEventParser rejecting;
    auto ev = rejecting.parse(text);
    if (ev.ok() || ev.error().code != doc.error().code) __builtin_trap();
    if (ev.error().message != doc.error().message) __builtin_trap();
    if (doc.error().code != in_place.error().code) __builtin_trap();
    if (small.ok()) __builtin_trap();  // tighter caps cannot accept more
    return 0;
  }
  if (!same(*doc, *reference, true) || !same(*doc, *in_place, true)) __builtin_trap();
  check_accessors(*doc);

  // The reusable event parser (fast path with strings pointing into `text`) agrees too, also
  // when it parses the same text twice in a row.
  static zproxy::JsonEventParser events;
  for (int round = 0; round < 2; ++round) {
    auto ev = events.parse(text);
    if (!ev.ok() || !same(*doc, *ev, true)) __builtin_trap();
  }
  const std::string dumped = zproxy::json_dump(*doc);
  if (dumped != zproxy::detail::rapidjson_dump(*doc)) __builtin_trap();
  auto again = zproxy::parse_json(dumped);
  if (!again.ok()) __builtin_trap();
  if (!same(*doc, *again, false)) __builtin_trap();
  return 0;
}
