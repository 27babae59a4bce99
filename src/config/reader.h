#pragma once
// Reading settings, private to src/config/: a Reader with a sticky first error, the small text
// helpers every loader uses, and the loaders kept in their own files (models.cpp,
// state_settings.cpp). config.cpp holds the settings table and load_config.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace zproxy::config_detail {

inline constexpr int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;

// A setting's default from the settings table (config.cpp); empty when it has none.
std::string_view fallback_of(std::string_view name);

bool is_ctl(char c);
std::string_view trim(std::string_view s);
bool istarts_with(std::string_view s, std::string_view prefix);
// A bad value as it appears in messages: quoted, at most 64 bytes, control bytes escaped.
std::string quoted(std::string_view v);
// Comma-separated list: entries trimmed, empty entries dropped.
std::vector<std::string> split_list(std::string_view s);
// A header value: no control bytes except HTAB (so no CR/LF injection).
bool is_header_value(std::string_view s);
bool has_space_or_ctl(std::string_view s);

// Reads settings with a sticky first error: after a failure every read returns a harmless
// value and load_config reports only that first error.
class Reader {
 public:
  explicit Reader(const EnvMap& env) : env_(env) {}

  // The trimmed value when set and non-empty, else nullopt.
  std::optional<std::string_view> given(std::string_view name) const {
    const auto it = env_.find(name);
    if (it == env_.end()) return std::nullopt;
    const std::string_view v = trim(it->second);
    if (v.empty()) return std::nullopt;
    return v;
  }
  std::string_view text(std::string_view name) const {
    return given(name).value_or(fallback_of(name));
  }

  void fail(std::string message) {
    if (!error_) error_ = make_error(Errc::kInvalidConfig, std::move(message));
  }
  // Fails with "<name> <what> (got "<value>")". Never used for secret settings.
  void fail_value(std::string_view name, std::string_view what) {
    fail(std::string(name) + " " + std::string(what) + " (got " + quoted(text(name)) + ")");
  }
  bool failed() const { return error_.has_value(); }
  Error take_error() { return std::move(*error_); }

  int64_t integer(std::string_view name, int64_t lo, int64_t hi);
  bool boolean(std::string_view name);
  // Index into `options` (case-insensitive match).
  size_t choice(std::string_view name, std::initializer_list<std::string_view> options);
  std::string url(std::string_view name);
  std::string path(std::string_view name);
  std::string header_value(std::string_view name);
  // A JSON object of string -> string, in document order.
  std::vector<std::pair<std::string, std::string>> string_map(std::string_view name);

 private:
  const EnvMap& env_;
  std::optional<Error> error_;
};

// A list of credentials. Messages never echo any part of it.
std::vector<std::string> read_keys(Reader& r, std::string_view name);

// models.cpp: MODEL_MAP over the mode's table, CLAUDE_MODEL_MAP, MODEL_CAPS, MODEL_FALLBACKS,
// VISION_MODELS / VISION_MODEL and web search.
void load_models(Reader& r, Config& c);
void load_claude_models(Reader& r, Config& c);
void load_api_features(Reader& r, Config& c);

// state_settings.cpp: STATE_STORE and its settings.
void load_state(Reader& r, Config& c);

}  // namespace zproxy::config_detail
