#include "config/reader.h"

#include <algorithm>
#include <charconv>

#include "core/ascii.h"
#include "json/json.h"

namespace zproxy::config_detail {

bool is_ctl(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// A bad value as it appears in messages: quoted, at most 64 bytes, control bytes escaped.
std::string quoted(std::string_view v) {
  constexpr size_t kMax = 64;
  std::string out = "\"";
  for (size_t i = 0; i < v.size() && i < kMax; ++i) {
    const char c = v[i];
    if (is_ctl(c) || c == '"' || c == '\\') {
      constexpr char kHex[] = "0123456789abcdef";
      const auto u = static_cast<unsigned char>(c);
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (v.size() > kMax) out += "...";
  return out + "\"";
}

// Comma-separated list: entries trimmed, empty entries dropped.
std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (true) {
    const size_t comma = s.find(',');
    const std::string_view item = trim(s.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

// A header value: no control bytes except HTAB (so no CR/LF injection).
bool is_header_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return is_ctl(c) && c != '\t'; });
}

bool has_space_or_ctl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return is_ctl(c) || c == ' '; });
}

int64_t Reader::integer(std::string_view name, int64_t lo, int64_t hi) {
  const std::string_view v = text(name);
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < lo || n > hi) {
    fail_value(name,
               "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi));
    return lo;
  }
  return n;
}

bool Reader::boolean(std::string_view name) {
  const std::string_view v = text(name);
  for (std::string_view t : {"true", "1", "yes"}) {
    if (iequals(v, t)) return true;
  }
  for (std::string_view f : {"false", "0", "no"}) {
    if (iequals(v, f)) return false;
  }
  fail_value(name, "must be true or false (also 1/0, yes/no)");
  return false;
}

size_t Reader::choice(std::string_view name, std::initializer_list<std::string_view> options) {
  const std::string_view v = text(name);
  std::string list;
  size_t i = 0;
  for (std::string_view o : options) {
    if (iequals(v, o)) return i;
    list += (i++ == 0 ? "" : ", ") + std::string(o);
  }
  fail_value(name, "must be one of " + list);
  return 0;
}

namespace {

// Authority "host[:port]" or "[v6]:port": a non-empty host and, when given, a port 1..65535.
bool valid_authority(std::string_view a) {
  std::string_view host = a;
  std::string_view rest;
  if (!a.empty() && a.front() == '[') {
    const size_t close = a.find(']');
    if (close == std::string_view::npos) return false;
    host = a.substr(0, close + 1);
    rest = a.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
  } else if (const size_t colon = a.find(':'); colon != std::string_view::npos) {
    host = a.substr(0, colon);
    rest = a.substr(colon);
  }
  if (host.empty() || host.find('@') != std::string_view::npos) return false;
  if (rest.empty()) return true;
  const std::string_view port = rest.substr(1);
  int p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  return ec == std::errc() && end == port.data() + port.size() && p >= 1 && p <= 65535;
}

}  // namespace

std::string Reader::url(std::string_view name) {
  std::string_view v = text(name);
  if (v.find('@') != std::string_view::npos) {  // userinfo: never echoed, never accepted
    fail(std::string(name) + " must not contain credentials (user:password@)");
    return {};
  }
  size_t scheme_len = 0;
  if (istarts_with(v, "http://")) scheme_len = 7;
  if (istarts_with(v, "https://")) scheme_len = 8;
  while (v.size() > scheme_len && v.back() == '/') v.remove_suffix(1);
  const std::string_view rest = v.substr(scheme_len);
  const std::string_view authority = rest.substr(0, rest.find('/'));
  if (scheme_len == 0 || has_space_or_ctl(v) || v.find_first_of("?#") != std::string_view::npos ||
      !valid_authority(authority)) {
    fail_value(name, "must be an http:// or https:// URL with a host and no query");
    return {};
  }
  return std::string(v);
}

std::string Reader::path(std::string_view name) {
  const std::string_view v = text(name);
  if (v.empty() || v.front() != '/' || has_space_or_ctl(v)) {
    fail_value(name, "must be a path starting with '/' without spaces");
    return {};
  }
  return std::string(v);
}

std::string Reader::header_value(std::string_view name) {
  const std::string_view v = text(name);
  if (!is_header_value(v)) {
    fail_value(name, "must not contain control characters (CR, LF, ...)");
    return {};
  }
  return std::string(v);
}

std::vector<std::pair<std::string, std::string>> Reader::string_map(std::string_view name) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::optional<std::string_view> v = given(name);
  if (!v || failed()) return out;
  const std::string what = std::string(name) + " must be a JSON object of string values";
  Result<JsonDocument> doc = parse_json(*v);
  if (!doc.ok()) {
    fail(what + " (" + doc.error().message + ")");
    return out;
  }
  if (!doc->is_object()) {
    fail(what + " (got another JSON type)");
    return out;
  }
  for (const JsonMember m : doc->members()) {
    if (!m.value.is_string()) {
      fail(what + " (the value of " + quoted(m.key) + " is not a string)");
      return {};
    }
    out.emplace_back(std::string(m.key), std::string(m.value.string()));
  }
  return out;
}

// A list of credentials. Messages never echo any part of it.
std::vector<std::string> read_keys(Reader& r, std::string_view name) {
  std::vector<std::string> keys = split_list(r.text(name));
  if (r.given(name) && keys.empty()) {
    r.fail(std::string(name) + " holds no key (only commas and spaces)");
  }
  for (const std::string& k : keys) {
    if (has_space_or_ctl(k)) {
      r.fail(std::string(name) + " entries must not contain spaces or control characters");
    }
  }
  return keys;
}

}  // namespace zproxy::config_detail
