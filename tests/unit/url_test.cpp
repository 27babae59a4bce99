// The native host's URL, HTTPS_PROXY and NO_PROXY parsing (native/url.h).
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "native/url.h"

using zproxy::native::host_header;
using zproxy::native::is_ip_literal;
using zproxy::native::NoProxy;
using zproxy::native::parse_proxy;
using zproxy::native::parse_url;
using zproxy::native::ProxySetting;
using zproxy::native::Url;

namespace {

struct UrlRow {
  std::string input;
  std::optional<Url> want;  // nullopt: rejected
};

Url url(bool tls, std::string host, std::string port, std::string target) {
  return Url{tls, std::move(host), std::move(port), std::move(target)};
}

}  // namespace

TEST_CASE("parse_url: scheme, host, default ports and request target", "[url]") {
  const std::vector<UrlRow> rows = {
      {"http://example.com", url(false, "example.com", "80", "/")},
      {"https://example.com", url(true, "example.com", "443", "/")},
      {"https://chat.z.ai/api/v2/chat/completions?a=1",
       url(true, "chat.z.ai", "443", "/api/v2/chat/completions?a=1")},
      // Scheme and host fold to lower case; the target keeps its case.
      {"HTTPS://Example.COM/Path?Q=A", url(true, "example.com", "443", "/Path?Q=A")},
      {"http://example.com:8080/a/b", url(false, "example.com", "8080", "/a/b")},
      {"https://example.com:443/", url(true, "example.com", "443", "/")},
      {"http://example.com:443", url(false, "example.com", "443", "/")},
      {"http://example.com:1", url(false, "example.com", "1", "/")},
      {"http://example.com:65535", url(false, "example.com", "65535", "/")},
      // An empty port is the scheme's default (RFC 3986 3.2.3).
      {"http://example.com:/x", url(false, "example.com", "80", "/x")},
      // A query without a path gets "/" in front; the fragment is never sent.
      {"http://example.com?x=1", url(false, "example.com", "80", "/?x=1")},
      {"http://example.com/a?b=c#frag", url(false, "example.com", "80", "/a?b=c")},
      {"http://example.com#frag", url(false, "example.com", "80", "/")},
      {"http://example.com#frag/with/slash", url(false, "example.com", "80", "/")},
      {"http://example.com/a@b:c", url(false, "example.com", "80", "/a@b:c")},
      {"http://127.0.0.1:3000/v1", url(false, "127.0.0.1", "3000", "/v1")},
      // IPv6 literals lose their brackets.
      {"http://[::1]:8080/x", url(false, "::1", "8080", "/x")},
      {"https://[2001:DB8::1]/", url(true, "2001:db8::1", "443", "/")},
      {"https://[::ffff:10.0.0.1]", url(true, "::ffff:10.0.0.1", "443", "/")},
      {"http://[::1]:/", url(false, "::1", "80", "/")},
      // Rejected: no or another scheme.
      {"", std::nullopt},
      {"example.com", std::nullopt},
      {"//example.com/", std::nullopt},
      {"ftp://example.com/", std::nullopt},
      {"ws://example.com/", std::nullopt},
      {"httpx://example.com/", std::nullopt},
      {"http:/example.com/", std::nullopt},
      // Rejected: no host.
      {"http://", std::nullopt},
      {"http:///path", std::nullopt},
      {"http://?q", std::nullopt},
      {"http://:80/", std::nullopt},
      {"http://[]/", std::nullopt},
      {"http://[]:80/", std::nullopt},
      // Rejected: bad ports.
      {"http://example.com:0/", std::nullopt},
      {"http://example.com:65536/", std::nullopt},
      {"http://example.com:123456/", std::nullopt},
      {"http://example.com:-1/", std::nullopt},
      {"http://example.com:80a/", std::nullopt},
      {"http://example.com: 80/", std::nullopt},
      {"http://example.com:+80/", std::nullopt},
      // Rejected: userinfo, whitespace, broken brackets.
      {"http://user@example.com/", std::nullopt},
      {"http://user:pw@example.com/", std::nullopt},
      {"http://exa mple.com/", std::nullopt},
      {"http://example.com\t/", std::nullopt},
      {"http://[::1/", std::nullopt},
      {"http://[::1]x/", std::nullopt},
      {"http://[::1]8080/", std::nullopt},
      {"http://[::1]:http/", std::nullopt},
      // Rejected: an IPv6 address needs its brackets; only the last ":" could not tell.
      {"http://::1/", std::nullopt},
      {"http://::1:8080/", std::nullopt},
      {"http://2001:db8::1/", std::nullopt},
      {"http://a:b:80/", std::nullopt},
  };
  for (const UrlRow& row : rows) {
    INFO("url: \"" << row.input << "\"");
    const std::optional<Url> got = parse_url(row.input);
    REQUIRE(got.has_value() == row.want.has_value());
    if (!got) continue;
    CHECK(got->tls == row.want->tls);
    CHECK(got->host == row.want->host);
    CHECK(got->port == row.want->port);
    CHECK(got->target == row.want->target);
  }
}

TEST_CASE("host_header: brackets IPv6, omits the scheme's default port", "[url]") {
  struct Row {
    Url url;
    std::string want;
  };
  const std::vector<Row> rows = {
      {url(false, "example.com", "80", "/"), "example.com"},
      {url(true, "example.com", "443", "/"), "example.com"},
      {url(true, "example.com", "80", "/"), "example.com:80"},
      {url(false, "example.com", "443", "/"), "example.com:443"},
      {url(false, "example.com", "8080", "/"), "example.com:8080"},
      {url(true, "::1", "443", "/"), "[::1]"},
      {url(false, "2001:db8::1", "8080", "/"), "[2001:db8::1]:8080"},
      {url(false, "10.0.0.1", "80", "/"), "10.0.0.1"},
  };
  for (const Row& row : rows) {
    INFO("host " << row.url.host << " port " << row.url.port << " tls " << row.url.tls);
    CHECK(host_header(row.url) == row.want);
  }
}

TEST_CASE("host_header of a parsed URL is its authority, default port dropped", "[url]") {
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"https://Chat.Z.ai/api", "chat.z.ai"},
      {"https://chat.z.ai:443/api", "chat.z.ai"},
      {"https://chat.z.ai:8443/api", "chat.z.ai:8443"},
      {"http://[::1]:80/", "[::1]"},
      {"http://[::1]:3000/", "[::1]:3000"},
  };
  for (const auto& [input, want] : rows) {
    INFO(input);
    const std::optional<Url> u = parse_url(input);
    REQUIRE(u);
    CHECK(host_header(*u) == want);
  }
}

TEST_CASE("is_ip_literal: IPv4 dotted quads and IPv6, not names", "[url]") {
  const std::vector<std::pair<std::string, bool>> rows = {
      {"127.0.0.1", true},  {"0.0.0.0", true},       {"255.255.255.255", true},
      {"::1", true},        {"2001:db8::1", true},   {"::ffff:10.0.0.1", true},
      {"::", true},         {"example.com", false},  {"", false},
      {"1.2.3", false},     {"256.1.1.1", false},    {"1.2.3.4.5", false},
      {"[::1]", false},     {"127.0.0.1:80", false}, {"1.2.3.4 ", false},
      {"localhost", false}, {"12345", false},        {":::1", false},
  };
  for (const auto& [host, want] : rows) {
    INFO("host: \"" << host << "\"");
    CHECK(is_ip_literal(host) == want);
  }
}

TEST_CASE("parse_proxy: http proxies, default port 80, userinfo as Basic", "[url]") {
  struct Row {
    std::string input;
    std::optional<ProxySetting> want;
  };
  const auto proxy = [](std::string host, std::string port, std::string auth = "") {
    return ProxySetting{std::move(host), std::move(port), std::move(auth)};
  };
  const std::vector<Row> rows = {
      {"http://proxy:3128", proxy("proxy", "3128")},
      {"proxy:3128", proxy("proxy", "3128")},
      {"proxy", proxy("proxy", "80")},
      {"http://proxy", proxy("proxy", "80")},
      {"HTTP://Proxy.Corp:8080/", proxy("proxy.corp", "8080")},
      {"http://proxy:8080//", proxy("proxy", "8080")},
      {"http://10.0.0.1", proxy("10.0.0.1", "80")},
      {"http://[::1]:3128", proxy("::1", "3128")},
      {"[2001:db8::2]", proxy("2001:db8::2", "80")},
      {"http://user:pass@proxy:3128", proxy("proxy", "3128", "Basic dXNlcjpwYXNz")},
      {"user:pass@proxy", proxy("proxy", "80", "Basic dXNlcjpwYXNz")},
      {"http://user@proxy", proxy("proxy", "80", "Basic dXNlcg==")},
      {"http://Aladdin:open%20sesame@proxy",
       proxy("proxy", "80", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")},
      // Percent-escapes decode before encoding; the last "@" ends the userinfo.
      {"http://us%40er:p%3Ass@proxy:1", proxy("proxy", "1", "Basic dXNAZXI6cDpzcw==")},
      {"http://user:p@ss@proxy", proxy("proxy", "80", "Basic dXNlcjpwQHNz")},
      // Broken escapes stay as written.
      {"http://a:%zz%4@proxy", proxy("proxy", "80", "Basic YTolenolNA==")},
      {"http://user:pass@[::1]:3128", proxy("::1", "3128", "Basic dXNlcjpwYXNz")},
      // Rejected: not plain http, no host, bad port, a path.
      {"https://proxy:443", std::nullopt},
      {"socks5://proxy:1080", std::nullopt},
      {"", std::nullopt},
      {"http://", std::nullopt},
      {"/", std::nullopt},
      {"http://user:pass@", std::nullopt},
      {"http://proxy:0", std::nullopt},
      {"http://proxy:65536", std::nullopt},
      {"http://proxy:abc", std::nullopt},
      {"http://proxy/path", std::nullopt},
      {"http://proxy:3128/path/", std::nullopt},
      {"http://pro xy:3128", std::nullopt},
      {"http://[::1:3128", std::nullopt},
      {"::1:3128", std::nullopt},
  };
  for (const Row& row : rows) {
    INFO("HTTPS_PROXY=\"" << row.input << "\"");
    const std::optional<ProxySetting> got = parse_proxy(row.input);
    REQUIRE(got.has_value() == row.want.has_value());
    if (!got) continue;
    CHECK(got->host == row.want->host);
    CHECK(got->port == row.want->port);
    CHECK(got->authorization == row.want->authorization);
  }
}

TEST_CASE("NoProxy: exact, subdomain, leading dot, '*', ports, case", "[url]") {
  struct Row {
    std::string no_proxy;
    std::string host;
    bool bypass;
  };
  const std::vector<Row> rows = {
      {"", "example.com", false},
      {" , ,", "example.com", false},
      // A name matches itself and its subdomains, never a longer label.
      {"example.com", "example.com", true},
      {"example.com", "api.example.com", true},
      {"example.com", "a.b.example.com", true},
      {"example.com", "badexample.com", false},
      {"example.com", "example.com.evil.net", false},
      {"example.com", "example.co", false},
      {"example.com", "com", false},
      // A leading dot changes nothing: the name itself matches too.
      {".example.com", "example.com", true},
      {".example.com", "api.example.com", true},
      {".example.com", "badexample.com", false},
      {"..example.com", "api.example.com", true},
      // Case folds on both sides.
      {"Example.COM", "api.example.com", true},
      {"example.com", "API.Example.Com", true},
      // A port on an entry is ignored.
      {"example.com:443", "example.com", true},
      {"example.com:8443", "api.example.com", true},
      // Lists: commas, spaces around entries.
      {"localhost, 127.0.0.1 ,example.com", "example.com", true},
      {"localhost, 127.0.0.1 ,example.com", "127.0.0.1", true},
      {"localhost, 127.0.0.1 ,example.com", "localhost", true},
      {"localhost, 127.0.0.1 ,example.com", "other.net", false},
      {"a.com,,b.com", "b.com", true},
      {"\ta.com\t", "a.com", true},
      // "*" alone or anywhere in the list matches everything.
      {"*", "anything.example", true},
      {"a.com, *", "b.net", true},
      {" * ", "b.net", true},
      // IPv6: bare or bracketed.
      {"::1", "::1", true},
      {"[::1]", "::1", true},
      {"[2001:DB8::1]", "2001:db8::1", true},
      {"[::1]:8080", "::1", true},
      {"example.com, [2001:db8::1]:443", "2001:db8::1", true},
      {"[::1", "::1", false},
      {"::1", "::2", false},
      // IP addresses are names here: no CIDR ranges.
      {"10.0.0.0/8", "10.1.2.3", false},
  };
  for (const Row& row : rows) {
    INFO("NO_PROXY=\"" << row.no_proxy << "\" host=\"" << row.host << "\"");
    CHECK(NoProxy(row.no_proxy).matches(row.host) == row.bypass);
  }
}
