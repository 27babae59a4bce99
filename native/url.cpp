#include "url.h"

#include <arpa/inet.h>

#include <openssl/evp.h>

#include "core/ascii.h"

namespace zproxy::native {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool valid_port(std::string_view p) {
  if (p.empty() || p.size() > 5) return false;
  int v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  return v >= 1 && v <= 65535;
}

// host[:port] or [v6]:port into its parts; false when malformed.
bool split_authority(std::string_view a, std::string& host, std::string& port) {
  std::string_view h = a;
  std::string_view p;
  if (!a.empty() && a.front() == '[') {
    const size_t close = a.find(']');
    if (close == std::string_view::npos) return false;
    h = a.substr(1, close - 1);
    std::string_view rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      p = rest.substr(1);
    }
  } else if (const size_t colon = a.find(':'); colon != std::string_view::npos) {
    h = a.substr(0, colon);
    p = a.substr(colon + 1);
    if (p.find(':') != std::string_view::npos) return false;  // an IPv6 address needs [ ]
  }
  if (h.empty() || (!p.empty() && !valid_port(p))) return false;
  for (char c : h) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '@') return false;
  }
  host = lower(h);
  port = std::string(p);
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

}  // namespace

std::optional<Url> parse_url(std::string_view url) {
  Url u;
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  const std::string scheme = lower(url.substr(0, sep));
  if (scheme == "https") {
    u.tls = true;
  } else if (scheme != "http") {
    return std::nullopt;
  }
  std::string_view rest = url.substr(sep + 3);
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);
  }
  const size_t end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, end);
  if (!split_authority(authority, u.host, u.port)) return std::nullopt;
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  const std::string_view target = end == std::string_view::npos ? "" : rest.substr(end);
  u.target =
      target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  return u;
}

std::string host_header(const Url& url) {
  std::string h = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != (url.tls ? "443" : "80")) h += ":" + url.port;
  return h;
}

bool is_ip_literal(std::string_view host) {
  const std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

std::optional<ProxySetting> parse_proxy(std::string_view value) {
  if (const size_t sep = value.find("://"); sep != std::string_view::npos) {
    if (lower(value.substr(0, sep)) != "http") return std::nullopt;
    value = value.substr(sep + 3);
  }
  while (!value.empty() && value.back() == '/') value.remove_suffix(1);
  ProxySetting p;
  if (const size_t at = value.rfind('@'); at != std::string_view::npos) {
    p.authorization = "Basic " + base64(percent_decode(value.substr(0, at)));
    value = value.substr(at + 1);
  }
  if (value.find('/') != std::string_view::npos) return std::nullopt;
  if (!split_authority(value, p.host, p.port)) return std::nullopt;
  if (p.port.empty()) p.port = "80";
  return p;
}

NoProxy::NoProxy(std::string_view value) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? "" : value.substr(comma + 1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) {
      item.remove_prefix(1);
    }
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) {
      item.remove_suffix(1);
    }
    if (item == "*") all_ = true;
    if (!item.empty() && item.front() == '[') {
      // "[v6]" or "[v6]:port"; without its "]" the entry is dropped.
      const size_t close = item.find(']');
      item = close == std::string_view::npos ? std::string_view() : item.substr(1, close - 1);
    } else if (const size_t colon = item.find(':');
               colon != std::string_view::npos &&
               item.find(':', colon + 1) == std::string_view::npos) {
      item = item.substr(0, colon);
    }
    while (!item.empty() && item.front() == '.') item.remove_prefix(1);
    if (!item.empty()) entries_.push_back(lower(item));
  }
}

bool NoProxy::matches(std::string_view host) const {
  if (all_) return true;
  const std::string h = lower(host);
  for (const std::string& e : entries_) {
    if (h == e) return true;
    if (h.size() > e.size() && h.compare(h.size() - e.size(), e.size(), e) == 0 &&
        h[h.size() - e.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

}  // namespace zproxy::native
