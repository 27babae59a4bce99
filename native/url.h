#pragma once
// Absolute-URL and proxy-setting parsing for the upstream client (no I/O).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zproxy::native {

// scheme://host[:port][/path][?query]; the fragment is dropped. Only http and https.
struct Url {
  bool tls = false;
  std::string host;    // without IPv6 brackets
  std::string port;    // decimal, always set (80 / 443 by default)
  std::string target;  // origin-form request target, "/" at least
};

std::optional<Url> parse_url(std::string_view url);

// The Host header value: host (bracketed when IPv6) plus ":port" unless the scheme default.
std::string host_header(const Url& url);

// A literal IPv4 or IPv6 address (no SNI for those).
bool is_ip_literal(std::string_view host);

// HTTPS_PROXY: [http://][user[:password]@]host[:port] (port 80 by default).
struct ProxySetting {
  std::string host;
  std::string port;
  std::string authorization;  // "Basic …" when credentials were given, else empty
};

// nullopt when the value is not a usable http:// proxy.
std::optional<ProxySetting> parse_proxy(std::string_view value);

// NO_PROXY: comma-separated host names or suffixes (".example.com" or "example.com" match the
// host and its subdomains), optional ":port" ignored, "*" matches everything.
class NoProxy {
 public:
  explicit NoProxy(std::string_view value);
  bool matches(std::string_view host) const;

 private:
  std::vector<std::string> entries_;
  bool all_ = false;
};

}  // namespace zproxy::native
