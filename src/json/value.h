#pragma once
// JsonValue: a read-only view of one value of a parsed document (json/json.h), valid while the
// document it came from lives (for JsonEventParser: until its next parse()). Copy it freely: it
// is one pointer.
//
// Every accessor tolerates every input: a view may be absent (a missing member, an element out
// of range, a default-constructed view), and reading it as the wrong kind gives nullopt, an
// empty range or the fallback, never an assertion. Untrusted input is never a precondition.
//
// Design: a parsed value is laid out in JsonNode, the project's own 16-byte node, not in
// RapidJSON's DOM, so that every accessor is inline while no RapidJSON header is in sight (the
// decoders call them a few dozen times per upstream event). RapidJSON still reads the text
// (json/reader.h), but into these nodes. The alternative, an opaque pointer to RapidJSON's
// value with out-of-line accessors, would have needed LTO in every native build to win the
// calls back. bench/core_bench.cpp, MB/s of upstream input, medians of 9 interleaved runs
// (release, no LTO; a 2-core machine shared with other builds, so single runs vary by 10 %):
//                                          guest stream   API stream
//   RapidJSON's DOM, inline accessors           360           538     (before this layout)
//   this layout, inline accessors               439           642
//   this layout, accessors out of line          305           543     (noinline: the calls
//                                                                       cost without LTO)

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace zproxy {

namespace detail {

enum class JsonType : uint8_t {
  kAbsent,  // no value: a missing member, an element out of range
  kNull,
  kFalse,
  kTrue,
  kInt,     // an integer within int64
  kUint,    // an integer above INT64_MAX, within uint64
  kDouble,  // any other number (a fraction, an exponent, or beyond 64-bit integers)
  kString,
  kArray,
  kObject,
};

// One parsed value, 16 bytes. An object's children are its members as key, value, key, value…
// (2 * size nodes, in document order, duplicate keys kept); an array's are its elements.
struct JsonNode {
  union Payload {
    const char* str;       // kString: `size` bytes, valid UTF-8, may hold NUL bytes
    const JsonNode* kids;  // kArray, kObject
    int64_t i;             // kInt
    uint64_t u;            // kUint
    double d;              // kDouble, always finite
  } v;
  uint32_t size;  // string bytes, array elements, object members; 0 otherwise
  JsonType type;
};

inline constexpr JsonNode kAbsentNode = {.v = {.i = 0}, .size = 0, .type = JsonType::kAbsent};

struct JsonAccess;

}  // namespace detail

class JsonValue {
 public:
  JsonValue() = default;  // absent

  // True unless absent; JSON null is present.
  explicit operator bool() const { return node_->type != detail::JsonType::kAbsent; }

  bool is_null() const { return node_->type == detail::JsonType::kNull; }
  bool is_bool() const {
    return node_->type == detail::JsonType::kTrue || node_->type == detail::JsonType::kFalse;
  }
  bool is_number() const {
    return node_->type == detail::JsonType::kInt || node_->type == detail::JsonType::kUint ||
           node_->type == detail::JsonType::kDouble;
  }
  bool is_string() const { return node_->type == detail::JsonType::kString; }
  bool is_array() const { return node_->type == detail::JsonType::kArray; }
  bool is_object() const { return node_->type == detail::JsonType::kObject; }

  std::optional<bool> boolean() const {
    if (!is_bool()) return std::nullopt;
    return node_->type == detail::JsonType::kTrue;
  }
  // An integer (no fraction, no exponent) within int64.
  std::optional<int64_t> int64() const {
    if (node_->type != detail::JsonType::kInt) return std::nullopt;
    return node_->v.i;
  }
  // A non-negative integer within uint64.
  std::optional<uint64_t> uint64() const {
    if (node_->type == detail::JsonType::kUint) return node_->v.u;
    if (node_->type == detail::JsonType::kInt && node_->v.i >= 0) {
      return static_cast<uint64_t>(node_->v.i);
    }
    return std::nullopt;
  }
  // Any number, integers converted (beyond 2^53 to the nearest double).
  std::optional<double> number() const {
    switch (node_->type) {
      case detail::JsonType::kInt: return static_cast<double>(node_->v.i);
      case detail::JsonType::kUint: return static_cast<double>(node_->v.u);
      case detail::JsonType::kDouble: return node_->v.d;
      default: return std::nullopt;
    }
  }
  // A string's text (unescaped), or `fallback` for any other value.
  std::string_view string(std::string_view fallback = {}) const {
    return is_string() ? std::string_view(node_->v.str, node_->size) : fallback;
  }

  // Members of an object, elements of an array; 0 for anything else.
  size_t size() const { return is_array() || is_object() ? node_->size : 0; }

  // The member named `key` (compared bytewise, unescaped), absent when there is none or this
  // is not an object. With duplicate keys the last one wins, as in JavaScript and Python: the
  // proxy reads the value an upstream would read from the same bytes. Inline: called with a
  // literal key, the comparison reduces to a length test and a few byte compares (a plain
  // loop, which compilers unroll, where a memcmp call may stay).
  JsonValue member(std::string_view key) const {
    if (!is_object()) return {};
    const detail::JsonNode* const first = node_->v.kids;
    for (const detail::JsonNode* k = first + 2 * size_t{node_->size}; k != first;) {
      k -= 2;
      if (same_key(*k, key)) return JsonValue(k + 1);
    }
    return {};
  }
  // Element `i` of an array, absent when out of range or this is not an array.
  JsonValue element(size_t i) const {
    return is_array() && i < node_->size ? JsonValue(node_->v.kids + i) : JsonValue();
  }

  // Range-for over an array's elements (none for any other value).
  class Elements;
  Elements elements() const;
  // Range-for over an object's members in document order, duplicates included (none for any
  // other value).
  class Members;
  Members members() const;

 protected:
  friend struct detail::JsonAccess;
  explicit JsonValue(const detail::JsonNode* node) : node_(node) {}

 private:
  static bool same_key(const detail::JsonNode& name, std::string_view key) {
    if (name.size != key.size()) return false;
    const char* const s = name.v.str;
    for (size_t i = 0; i < key.size(); ++i) {
      if (s[i] != key[i]) return false;
    }
    return true;
  }

  const detail::JsonNode* node_ = &detail::kAbsentNode;
};

struct JsonMember {
  std::string_view key;
  JsonValue value;
};

class JsonValue::Elements {
 public:
  class iterator {
   public:
    explicit iterator(const detail::JsonNode* p) : p_(p) {}
    JsonValue operator*() const { return JsonValue(p_); }
    iterator& operator++() {
      ++p_;
      return *this;
    }
    bool operator==(const iterator&) const = default;

   private:
    const detail::JsonNode* p_;
  };
  iterator begin() const { return iterator(begin_); }
  iterator end() const { return iterator(end_); }

 private:
  friend class JsonValue;
  Elements(const detail::JsonNode* begin, const detail::JsonNode* end) : begin_(begin), end_(end) {}
  const detail::JsonNode* begin_;
  const detail::JsonNode* end_;
};

class JsonValue::Members {
 public:
  class iterator {
   public:
    explicit iterator(const detail::JsonNode* p) : p_(p) {}
    JsonMember operator*() const {
      return {std::string_view(p_->v.str, p_->size), JsonValue(p_ + 1)};
    }
    iterator& operator++() {
      p_ += 2;
      return *this;
    }
    bool operator==(const iterator&) const = default;

   private:
    const detail::JsonNode* p_;
  };
  iterator begin() const { return iterator(begin_); }
  iterator end() const { return iterator(end_); }

 private:
  friend class JsonValue;
  Members(const detail::JsonNode* begin, const detail::JsonNode* end) : begin_(begin), end_(end) {}
  const detail::JsonNode* begin_;
  const detail::JsonNode* end_;
};

inline JsonValue::Elements JsonValue::elements() const {
  const detail::JsonNode* const kids = is_array() ? node_->v.kids : nullptr;
  return Elements(kids, kids == nullptr ? nullptr : kids + node_->size);
}

inline JsonValue::Members JsonValue::members() const {
  const detail::JsonNode* const kids = is_object() ? node_->v.kids : nullptr;
  return Members(kids, kids == nullptr ? nullptr : kids + 2 * size_t{node_->size});
}

}  // namespace zproxy
