#include "sse/sse_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

namespace zproxy {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Finds line terminators (CR or LF) in one slice. Each byte value is searched with memchr and
// a hit is reused until the scan passes it, so the slice is scanned at most once per byte value
// (a CR-only stream would otherwise rescan the rest of the slice for LF at every line).
class EolFinder {
 public:
  explicit EolFinder(const char* end) : end_(end) {}

  // The first CR or LF in [p, end), or end.
  const char* next(const char* p) {
    if (lf_ == nullptr || lf_ < p) lf_ = find(p, '\n');
    if (cr_ == nullptr || cr_ < p) cr_ = find(p, '\r');
    return std::min(lf_, cr_);
  }

 private:
  const char* find(const char* p, char c) const {
    const void* hit = std::memchr(p, c, static_cast<size_t>(end_ - p));
    return hit != nullptr ? static_cast<const char*>(hit) : end_;
  }

  const char* end_;
  const char* lf_ = nullptr;
  const char* cr_ = nullptr;
};

// "retry" value: ASCII digits only (at least one), in ms; saturates instead of overflowing.
std::optional<int64_t> parse_retry(std::string_view value) {
  if (value.empty()) return std::nullopt;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t ms = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    const int digit = c - '0';
    ms = ms > (kMax - digit) / 10 ? kMax : ms * 10 + digit;
  }
  return ms;
}

}  // namespace

SseParser::SseParser(SseLimits limits) : limits_(limits) {}

Status SseParser::feed(std::span<const char> bytes, SseHandler& handler) {
  if (failed_) return error_;
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  if (p == end) return ok_status();
  if (pending_cr_) {
    pending_cr_ = false;
    if (*p == '\n') ++p;  // the LF of a CRLF split across slices
  }
  EolFinder eols(end);
  while (p < end) {
    const char* const eol = eols.next(p);
    const size_t len = static_cast<size_t>(eol - p);
    if (line_.size() + len > limits_.max_line_bytes) {
      return fail("upstream SSE line exceeds max_line_bytes (" +
                  std::to_string(limits_.max_line_bytes) + ")");
    }
    if (eol == end) {
      line_.append(p, len);  // unfinished: wait for the rest of the line
      break;
    }
    // A line inside this slice is processed in place; only a line begun in an earlier slice
    // is completed in line_.
    const std::string_view line =
        line_.empty() ? std::string_view(p, len) : std::string_view(line_.append(p, len));
    Status status = process_line(line, handler);
    line_.clear();
    if (!status.ok()) return status;
    p = eol + 1;
    if (*eol == '\r') {
      if (p == end) {
        pending_cr_ = true;
      } else if (*p == '\n') {
        ++p;
      }
    }
  }
  return ok_status();
}

Status SseParser::finish(SseHandler& handler) {
  if (failed_) return error_;
  pending_cr_ = false;
  if (!line_.empty()) {
    Status status = process_line(line_, handler);
    line_.clear();
    if (!status.ok()) return status;
  }
  dispatch(handler);
  return ok_status();
}

Status SseParser::process_line(std::string_view line, SseHandler& handler) {
  if (at_start_) {
    at_start_ = false;
    if (line.starts_with(kBom)) line.remove_prefix(kBom.size());
  }
  if (line.empty()) {
    dispatch(handler);
    return ok_status();
  }
  if (line.front() == ':') return ok_status();  // comment
  const size_t colon = line.find(':');
  const std::string_view name = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "data") {
    // data_ holds one "\n" per line, so this is the event's size once the last "\n" is dropped.
    if (data_.size() + value.size() > limits_.max_event_bytes) {
      return fail("upstream SSE event exceeds max_event_bytes (" +
                  std::to_string(limits_.max_event_bytes) + ")");
    }
    data_.append(value);
    data_.push_back('\n');
  } else if (name == "event") {
    type_.assign(value);
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (name == "retry") {
    if (auto ms = parse_retry(value)) retry_ms_ = *ms;
  }
  return ok_status();
}

void SseParser::dispatch(SseHandler& handler) {
  if (data_.empty()) {
    type_.clear();
    return;
  }
  data_.pop_back();
  SseEvent event;
  event.type = type_.empty() ? std::string_view("message") : std::string_view(type_);
  event.data = data_;
  event.last_event_id = last_id_;
  handler.on_event(event);
  data_.clear();
  type_.clear();
}

Status SseParser::fail(std::string message) {
  failed_ = true;
  error_ = make_error(Errc::kUpstreamBadResponse, std::move(message));
  return error_;
}

}  // namespace zproxy
