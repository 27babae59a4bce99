// The Prometheus registry (engine/metrics.h): each recording moves exactly the series it names,
// by exactly what was recorded, and the page is valid text exposition format 0.0.4.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/metrics.h"

using namespace zproxy;

namespace {

// The test's own copy of the documented bucket bounds (seconds).
const std::vector<std::string> kLe = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                                      "1",     "2.5",  "5",     "10",   "30",  "60",   "120"};

// A parsed page: sample "name{labels as written}" → value, plus what the parser objected to.
struct Page {
  std::map<std::string, std::string> type;  // family → counter | gauge | histogram
  std::map<std::string, std::string> help;
  std::map<std::string, double> samples;
  std::vector<std::string> order;  // sample keys in page order
  std::vector<std::string> errors;
};

bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

size_t scan_name(std::string_view s, size_t at) {
  size_t i = at;
  while (i < s.size() && name_char(s[i], i == at)) ++i;
  return i;
}

// `{k="v",…}` from s[at] ('{'): the labels (values unescaped) and the index after '}', or npos.
size_t scan_labels(std::string_view s, size_t at, std::map<std::string, std::string>& labels) {
  size_t i = at + 1;
  while (i < s.size() && s[i] != '}') {
    const size_t name_end = scan_name(s, i);
    if (name_end == i || s.substr(name_end, 2) != "=\"") return std::string_view::npos;
    std::string value;
    size_t j = name_end + 2;
    for (; j < s.size() && s[j] != '"'; ++j) {
      if (s[j] == '\n') return std::string_view::npos;
      if (s[j] != '\\') {
        value += s[j];
        continue;
      }
      if (++j == s.size()) return std::string_view::npos;
      if (s[j] != 'n' && s[j] != '\\' && s[j] != '"') return std::string_view::npos;
      value += s[j] == 'n' ? '\n' : s[j];
    }
    if (j == s.size()) return std::string_view::npos;
    if (!labels.emplace(std::string(s.substr(i, name_end - i)), value).second) {
      return std::string_view::npos;  // a label twice
    }
    i = j + 1;
    if (i < s.size() && s[i] == ',') ++i;
  }
  return i < s.size() ? i + 1 : std::string_view::npos;
}

std::string family_of(const std::string& name, const std::map<std::string, std::string>& type) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string_view sv(suffix);
    if (name.size() > sv.size() && name.compare(name.size() - sv.size(), sv.size(), sv) == 0) {
      const std::string base = name.substr(0, name.size() - sv.size());
      if (type.count(base) && type.at(base) == "histogram") return base;
    }
  }
  return name;
}

void parse_comment(const std::string& line, Page& page, std::string& current) {
  const bool is_help = line.rfind("# HELP ", 0) == 0;
  const bool is_type = line.rfind("# TYPE ", 0) == 0;
  if (!is_help && !is_type) return;  // other comments are allowed
  const size_t name_end = scan_name(line, 7);
  const std::string name = line.substr(7, name_end - 7);
  if (name.empty() || name_end >= line.size() || line[name_end] != ' ') {
    page.errors.push_back("bad comment: " + line);
    return;
  }
  const std::string rest = line.substr(name_end + 1);
  auto& slot = is_help ? page.help : page.type;
  if (!slot.emplace(name, rest).second) page.errors.push_back("repeated: " + line);
  if (is_type) {
    if (rest != "counter" && rest != "gauge" && rest != "histogram") {
      page.errors.push_back("bad type: " + line);
    }
    if (!page.help.count(name)) page.errors.push_back("TYPE before HELP: " + line);
    current = name;
  }
}

void parse_sample(const std::string& line, Page& page, const std::string& current) {
  const size_t name_end = scan_name(line, 0);
  const std::string name = line.substr(0, name_end);
  std::map<std::string, std::string> labels;
  size_t i = name_end;
  if (i < line.size() && line[i] == '{') i = scan_labels(line, i, labels);
  if (name.empty() || i == std::string::npos || i >= line.size() || line[i] != ' ') {
    page.errors.push_back("bad sample: " + line);
    return;
  }
  const std::string value = line.substr(i + 1);
  char* end = nullptr;
  const double v = value == "+Inf" ? INFINITY : std::strtod(value.c_str(), &end);
  if (value != "+Inf" && (value.empty() || end != value.c_str() + value.size())) {
    page.errors.push_back("bad value: " + line);
  }
  if (family_of(name, page.type) != current) {
    page.errors.push_back("sample outside its family's block: " + line);
  }
  const std::string key = line.substr(0, i);
  if (!page.samples.emplace(key, v).second) page.errors.push_back("repeated: " + line);
  page.order.push_back(key);
}

Page parse(const std::string& text) {
  Page page;
  if (text.empty() || text.back() != '\n') page.errors.push_back("no final newline");
  std::string current;  // the family whose TYPE came last
  size_t from = 0;
  while (from < text.size()) {
    const size_t nl = text.find('\n', from);
    const std::string line = text.substr(from, nl == std::string::npos ? nl : nl - from);
    from = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty()) {
      page.errors.push_back("empty line");
    } else if (line[0] == '#') {
      parse_comment(line, page, current);
    } else {
      parse_sample(line, page, current);
    }
  }
  return page;
}

Page render(const Metrics& m, UpstreamMode mode = UpstreamMode::kGuest,
            const PoolCounts& pool = {}) {
  const std::string text = m.render(mode, pool);
  Page page = parse(text);
  INFO(text);
  CHECK(page.errors == std::vector<std::string>{});
  return page;
}

// The series a histogram observation of `seconds` moves, `+Inf` and `_count` included.
std::map<std::string, double> observed(const std::string& name, const std::string& labels,
                                       double seconds) {
  std::map<std::string, double> d;
  for (const std::string& le : kLe) {
    if (seconds <= std::strtod(le.c_str(), nullptr))
      d[name + "_bucket{" + labels + ",le=\"" + le + "\"}"] = 1;
  }
  d[name + "_bucket{" + labels + ",le=\"+Inf\"}"] = 1;
  d[name + "_count{" + labels + "}"] = 1;
  d[name + "_sum{" + labels + "}"] = seconds;
  return d;
}

std::map<std::string, double> merge(std::map<std::string, double> a,
                                    const std::map<std::string, double>& b) {
  for (const auto& [k, v] : b) a[k] += v;
  return a;
}

}  // namespace

TEST_CASE("metrics: a fresh page lists every series at zero", "[metrics]") {
  const Metrics m;
  const Page page = render(m);
  const std::map<std::string, std::string> families = {
      {"zproxy_requests_total", "counter"},
      {"zproxy_request_duration_seconds", "histogram"},
      {"zproxy_time_to_first_token_seconds", "histogram"},
      {"zproxy_upstream_attempts_total", "counter"},
      {"zproxy_retries_total", "counter"},
      {"zproxy_token_fetches_total", "counter"},
      {"zproxy_count_tokens_total", "counter"},
      {"zproxy_model_fallbacks_total", "counter"},
      {"zproxy_client_limited_total", "counter"},
      {"zproxy_client_tokens_total", "counter"},
      {"zproxy_credentials", "gauge"},
      {"zproxy_inflight_requests", "gauge"},
      {"zproxy_state_store_up", "gauge"},
      {"zproxy_state_store_errors_total", "counter"},
      {"zproxy_state_fallback_total", "counter"},
  };
  CHECK(page.type == families);
  for (const auto& [name, type] : families) {
    INFO(name);
    REQUIRE(page.help.count(name));
    CHECK_FALSE(page.help.at(name).empty());
  }
  // Requests appear once counted; every other series is there from the start.
  const size_t histogram_series = 13 * (kLe.size() + 3);  // 11 routes + 2 modes
  CHECK(page.samples.size() == histogram_series + 16 + 2 + 2 + 2 + 4 + 1 + 1);
  for (const auto& [key, value] : page.samples) {
    INFO(key);
    // The memory backend is always up.
    CHECK(value == (key == R"(zproxy_state_store_up{backend="memory"})" ? 1 : 0));
  }
  for (const char* route :
       {"chat_completions", "models", "healthz", "readyz", "metrics", "other"}) {
    const std::string labels = std::string("route=\"") + route + "\"";
    CHECK(page.samples.count("zproxy_request_duration_seconds_count{" + labels + "}"));
  }
}

TEST_CASE("metrics: each recording moves exactly its series", "[metrics]") {
  using Action = std::function<void(Metrics&)>;
  struct Row {
    const char* name;
    Action act;
    std::map<std::string, double> delta;  // every other series must stay put
  };
  const std::string dur = "zproxy_request_duration_seconds";
  const std::string ttft = "zproxy_time_to_first_token_seconds";
  const std::vector<Row> rows = {
      {"a chat request", [](Metrics& m) { m.request_done(Route::kChatCompletions, 200, 0.3); },
       merge({{"zproxy_requests_total{route=\"chat_completions\",status=\"200\"}", 1}},
             observed(dur, "route=\"chat_completions\"", 0.3))},
      {"two statuses of one route, one request each",
       [](Metrics& m) {
         m.request_done(Route::kOther, 404, 0.001);
         m.request_done(Route::kOther, 405, 0.002);
       },
       merge(merge({{"zproxy_requests_total{route=\"other\",status=\"404\"}", 1},
                    {"zproxy_requests_total{route=\"other\",status=\"405\"}", 1}},
                   observed(dur, "route=\"other\"", 0.001)),
             observed(dur, "route=\"other\"", 0.002))},
      {"the same route and status three times",
       [](Metrics& m) {
         for (int i = 0; i < 3; ++i) m.request_done(Route::kModels, 200, 2);
       },
       {{"zproxy_requests_total{route=\"models\",status=\"200\"}", 3},
        {dur + "_bucket{route=\"models\",le=\"2.5\"}", 3},
        {dur + "_bucket{route=\"models\",le=\"5\"}", 3},
        {dur + "_bucket{route=\"models\",le=\"10\"}", 3},
        {dur + "_bucket{route=\"models\",le=\"30\"}", 3},
        {dur + "_bucket{route=\"models\",le=\"60\"}", 3},
        {dur + "_bucket{route=\"models\",le=\"120\"}", 3},
        {dur + "_bucket{route=\"models\",le=\"+Inf\"}", 3},
        {dur + "_count{route=\"models\"}", 3},
        {dur + "_sum{route=\"models\"}", 6}}},
      {"every route has its own series",
       [](Metrics& m) {
         m.request_done(Route::kHealthz, 200, 0.5);
         m.request_done(Route::kReadyz, 503, 0.5);
         m.request_done(Route::kMetrics, 200, 0.5);
       },
       merge(merge(merge({{"zproxy_requests_total{route=\"healthz\",status=\"200\"}", 1},
                          {"zproxy_requests_total{route=\"readyz\",status=\"503\"}", 1},
                          {"zproxy_requests_total{route=\"metrics\",status=\"200\"}", 1}},
                         observed(dur, "route=\"healthz\"", 0.5)),
                   observed(dur, "route=\"readyz\"", 0.5)),
             observed(dur, "route=\"metrics\"", 0.5))},
      {"first token in guest mode", [](Metrics& m) { m.first_token(UpstreamMode::kGuest, 1.5); },
       observed(ttft, "mode=\"guest\"", 1.5)},
      {"first token in API mode", [](Metrics& m) { m.first_token(UpstreamMode::kApi, 0.04); },
       observed(ttft, "mode=\"api\"", 0.04)},
      {"attempt outcomes per mode",
       [](Metrics& m) {
         m.attempt(UpstreamMode::kGuest, AttemptOutcome::kOk);
         m.attempt(UpstreamMode::kGuest, AttemptOutcome::kOk);
         m.attempt(UpstreamMode::kApi, AttemptOutcome::kDead);
         m.attempt(UpstreamMode::kApi, AttemptOutcome::kCooldown);
         m.attempt(UpstreamMode::kApi, AttemptOutcome::kTransient);
         m.attempt(UpstreamMode::kGuest, AttemptOutcome::kClientFault);
         m.attempt(UpstreamMode::kGuest, AttemptOutcome::kUpstreamWide);
         m.attempt(UpstreamMode::kApi, AttemptOutcome::kTimeout);
         m.attempt(UpstreamMode::kGuest, AttemptOutcome::kCancelled);
       },
       {{"zproxy_upstream_attempts_total{mode=\"guest\",outcome=\"ok\"}", 2},
        {"zproxy_upstream_attempts_total{mode=\"api\",outcome=\"dead\"}", 1},
        {"zproxy_upstream_attempts_total{mode=\"api\",outcome=\"cooldown\"}", 1},
        {"zproxy_upstream_attempts_total{mode=\"api\",outcome=\"transient\"}", 1},
        {"zproxy_upstream_attempts_total{mode=\"guest\",outcome=\"client_fault\"}", 1},
        {"zproxy_upstream_attempts_total{mode=\"guest\",outcome=\"upstream_wide\"}", 1},
        {"zproxy_upstream_attempts_total{mode=\"api\",outcome=\"timeout\"}", 1},
        {"zproxy_upstream_attempts_total{mode=\"guest\",outcome=\"cancelled\"}", 1}}},
      {"retries per mode",
       [](Metrics& m) {
         m.retry(UpstreamMode::kApi);
         m.retry(UpstreamMode::kApi);
         m.retry(UpstreamMode::kGuest);
       },
       {{"zproxy_retries_total{mode=\"api\"}", 2}, {"zproxy_retries_total{mode=\"guest\"}", 1}}},
      {"token fetches by outcome",
       [](Metrics& m) {
         m.token_fetch(true);
         m.token_fetch(false);
         m.token_fetch(false);
       },
       {{"zproxy_token_fetches_total{outcome=\"ok\"}", 1},
        {"zproxy_token_fetches_total{outcome=\"failed\"}", 2}}},
      {"in-flight requests go up and down",
       [](Metrics& m) {
         m.inflight_delta(1);
         m.inflight_delta(1);
         m.inflight_delta(1);
         m.inflight_delta(-1);
       },
       {{"zproxy_inflight_requests", 2}}},
  };
  for (const Row& row : rows) {
    SECTION(row.name) {
      Metrics m;
      m.request_done(Route::kChatCompletions, 200, 7);  // a non-empty start
      m.attempt(UpstreamMode::kApi, AttemptOutcome::kOk);
      m.inflight_delta(1);
      const Page before = render(m);
      row.act(m);
      const Page after = render(m);
      std::set<std::string> keys;
      for (const auto& [k, v] : before.samples) keys.insert(k);
      for (const auto& [k, v] : after.samples) keys.insert(k);
      for (const auto& [k, v] : row.delta) {
        INFO(k);
        CHECK(after.samples.count(k));
      }
      for (const std::string& k : keys) {
        INFO(k);
        const double was = before.samples.count(k) ? before.samples.at(k) : 0;
        const double now = after.samples.count(k) ? after.samples.at(k) : 0;
        const double want = row.delta.count(k) ? row.delta.at(k) : 0;
        CHECK(now - was == Approx(want).margin(1e-9));
      }
    }
  }
}

TEST_CASE("metrics: each attempt outcome has its own series per mode", "[metrics]") {
  const std::vector<std::pair<AttemptOutcome, const char*>> rows = {
      {AttemptOutcome::kOk, "ok"},
      {AttemptOutcome::kDead, "dead"},
      {AttemptOutcome::kCooldown, "cooldown"},
      {AttemptOutcome::kTransient, "transient"},
      {AttemptOutcome::kClientFault, "client_fault"},
      {AttemptOutcome::kUpstreamWide, "upstream_wide"},
      {AttemptOutcome::kTimeout, "timeout"},
      {AttemptOutcome::kCancelled, "cancelled"},
  };
  REQUIRE(rows.size() == kAttemptOutcomeCount);
  for (const auto& [outcome, name] : rows) {
    for (const auto& [mode, label] :
         {std::pair{UpstreamMode::kGuest, "guest"}, std::pair{UpstreamMode::kApi, "api"}}) {
      INFO(label << " " << name);
      Metrics m;
      m.attempt(mode, outcome);
      const Page page = render(m);
      const std::string key = std::string("zproxy_upstream_attempts_total{mode=\"") + label +
                              "\",outcome=\"" + name + "\"}";
      CHECK(page.samples.at(key) == 1);
      double all = 0;
      for (const auto& [k, v] : page.samples) {
        if (k.rfind("zproxy_upstream_attempts_total{", 0) == 0) all += v;
      }
      CHECK(all == 1);
    }
  }
}

TEST_CASE("metrics: histogram buckets are upper-inclusive and cumulative", "[metrics]") {
  struct Row {
    double seconds;
    const char* lowest_le;  // the smallest bucket that counts it; "+Inf" for none of the bounds
  };
  const std::vector<Row> rows = {
      {0, "0.005"},      {0.005, "0.005"},  {0.0051, "0.01"}, {0.1, "0.1"},
      {0.10001, "0.25"}, {1, "1"},          {1.0001, "2.5"},  {29.9, "30"},
      {120, "120"},      {120.001, "+Inf"}, {86400, "+Inf"},
  };
  const std::string name = "zproxy_time_to_first_token_seconds";
  for (const Row& row : rows) {
    INFO("observed " << row.seconds << " s");
    Metrics m;
    m.first_token(UpstreamMode::kApi, row.seconds);
    const Page page = render(m);
    bool counted = false;
    for (const std::string& le : kLe) {
      counted = counted || le == row.lowest_le;
      INFO("le=" << le);
      CHECK(page.samples.at(name + "_bucket{mode=\"api\",le=\"" + le + "\"}") == (counted ? 1 : 0));
    }
    CHECK(page.samples.at(name + "_bucket{mode=\"api\",le=\"+Inf\"}") == 1);
    CHECK(page.samples.at(name + "_count{mode=\"api\"}") == 1);
    CHECK(page.samples.at(name + "_sum{mode=\"api\"}") == Approx(row.seconds));
  }
}

TEST_CASE("metrics: every histogram series is well formed", "[metrics]") {
  // Many observations spread over all buckets; then, per series: bounds in increasing order,
  // counts non-decreasing, +Inf last and equal to _count, _sum the total.
  Metrics m;
  double total = 0;
  uint32_t x = 12345;
  for (int i = 0; i < 2000; ++i) {
    x = x * 1103515245u + 12345u;
    const double seconds = static_cast<double>(x % 200000) / 1000.0;  // 0 … 200 s
    total += seconds;
    m.request_done(Route::kChatCompletions, 200, seconds);
  }
  const std::string text = m.render(UpstreamMode::kGuest, {});
  const Page page = render(m);
  const std::string prefix =
      "zproxy_request_duration_seconds_bucket{route=\"chat_completions\",le=\"";
  std::vector<std::string> seen;
  double prev_le = -1;
  double prev_count = 0;
  for (const std::string& key : page.order) {
    if (key.rfind(prefix, 0) != 0) continue;
    const std::string le = key.substr(prefix.size(), key.size() - prefix.size() - 2);
    seen.push_back(le);
    const double bound = le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr);
    CHECK(bound > prev_le);
    CHECK(page.samples.at(key) >= prev_count);
    prev_le = bound;
    prev_count = page.samples.at(key);
  }
  std::vector<std::string> want = kLe;
  want.push_back("+Inf");
  CHECK(seen == want);
  CHECK(prev_count == 2000);
  CHECK(page.samples.at("zproxy_request_duration_seconds_count{route=\"chat_completions\"}") ==
        2000);
  CHECK(page.samples.at("zproxy_request_duration_seconds_sum{route=\"chat_completions\"}") ==
        total);
  // The bucket lines sit together, before _sum and _count of the same series.
  const size_t first = text.find(prefix);
  const size_t inf = text.find(prefix + "+Inf\"}");
  const size_t sum = text.find("zproxy_request_duration_seconds_sum{route=\"chat_completions\"}");
  const size_t count =
      text.find("zproxy_request_duration_seconds_count{route=\"chat_completions\"}");
  CHECK(first < inf);
  CHECK(inf < sum);
  CHECK(sum < count);
}

TEST_CASE("metrics: _sum reads back as the exact total at any size", "[metrics]") {
  // A _sum is a counter that rate() differentiates: rounded to 6 significant digits, a sum past
  // 10^6 s (about a day of streaming under light load) only moved in steps of 10 s.
  const std::vector<std::vector<double>> rows = {
      {0.1, 0.2},        {1234567.25, 0.5}, {2592000, 0.001},    {99999.9, 0.123456},
      {1e9, 1e-3, 1e-3}, {0.005},           {120, 60, 30, 0.25},
  };
  for (const std::vector<double>& observations : rows) {
    Metrics m;
    double total = 0;
    for (const double s : observations) {
      m.first_token(UpstreamMode::kGuest, s);
      total += s;
    }
    INFO("total " << std::setprecision(17) << total);
    const Page page = render(m);
    CHECK(page.samples.at("zproxy_time_to_first_token_seconds_sum{mode=\"guest\"}") == total);
  }
}

TEST_CASE("metrics: the credentials gauge reports the pool of the rendered mode", "[metrics]") {
  struct Row {
    UpstreamMode mode;
    PoolCounts pool;
    const char* label;
  };
  const std::vector<Row> rows = {
      {UpstreamMode::kGuest, {3, 2, 1, 4}, "guest"},
      {UpstreamMode::kApi, {5, 0, 7, 0}, "api"},
      {UpstreamMode::kApi, {}, "api"},
  };
  for (const Row& row : rows) {
    INFO("mode " << row.label);
    const Metrics m;
    const Page page = render(m, row.mode, row.pool);
    const std::string other = row.mode == UpstreamMode::kGuest ? "api" : "guest";
    const std::pair<const char*, size_t> states[] = {{"healthy", row.pool.healthy},
                                                     {"cooling", row.pool.cooling},
                                                     {"dead", row.pool.dead},
                                                     {"fetching", row.pool.fetching}};
    for (const auto& [state, n] : states) {
      const std::string labels = std::string("\",state=\"") + state + "\"}";
      CHECK(page.samples.at("zproxy_credentials{mode=\"" + std::string(row.label) + labels) ==
            static_cast<double>(n));
      CHECK(page.samples.count("zproxy_credentials{mode=\"" + other + labels) == 0);
    }
  }
}

TEST_CASE("metrics: label values need no escaping", "[metrics]") {
  // Labels come from fixed sets (routes, modes, outcomes, states, status codes, bounds): none
  // holds a quote, a backslash or a newline, so the page is valid without escapes.
  Metrics m;
  for (int r = 0; r < static_cast<int>(kRouteCount); ++r) {
    m.request_done(static_cast<Route>(r), 100 + r, 0.1);
  }
  m.request_done(Route::kOther, 999, 0.1);
  const std::string text = m.render(UpstreamMode::kApi, {1, 1, 1, 1});
  const Page page = render(m, UpstreamMode::kApi, {1, 1, 1, 1});
  CHECK(text.find('\\') == std::string::npos);
  for (const std::string& key : page.order) {
    INFO(key);
    for (const char c : key) {
      const bool plain = name_char(c, false) || c == '{' || c == '}' || c == '=' || c == '"' ||
                         c == ',' || c == '.' || c == '+';
      CHECK(plain);
    }
  }
  std::set<std::string_view> names;
  for (int r = 0; r < static_cast<int>(kRouteCount); ++r) {
    names.insert(route_name(static_cast<Route>(r)));
  }
  CHECK(names.size() == kRouteCount);
}

TEST_CASE("metrics: rendering changes nothing", "[metrics]") {
  Metrics m;
  m.request_done(Route::kModels, 200, 0.01);
  m.first_token(UpstreamMode::kGuest, 0.2);
  m.inflight_delta(1);
  const std::string first = m.render(UpstreamMode::kGuest, {1, 0, 0, 0});
  CHECK(m.render(UpstreamMode::kGuest, {1, 0, 0, 0}) == first);
}
