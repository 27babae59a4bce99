#include "sse/sse_parser.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>

#include "core/byte_scan.h"

namespace zproxy {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// The first CR or LF in [p, end), or end. Inline, a word at a time: lines are short (one event
// each, typically), where a library search call costs more than the scan.
const char* find_eol(const char* p, const char* end) {
  return find_first_byte(
      p, end, [](uint64_t x) { return bytes_equal(x, '\n') | bytes_equal(x, '\r'); },
      [](unsigned char c) { return c == '\n' || c == '\r'; });
}

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
  while (p < end) {
    const char* const eol = find_eol(p, end);
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
    const bool in_slice = line_.empty();
    const std::string_view line = in_slice ? std::string_view(p, len) : line_.append(p, len);
    Status status = process_line(line, in_slice, handler);
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
  keep_data();  // the slice goes away with this call
  return ok_status();
}

Status SseParser::finish(SseHandler& handler) {
  if (failed_) return error_;
  pending_cr_ = false;
  if (!line_.empty()) {
    Status status = process_line(line_, false, handler);
    line_.clear();
    if (!status.ok()) return status;
  }
  dispatch(handler, /*cut=*/true);
  return ok_status();
}

Status SseParser::process_line(std::string_view line, bool in_slice, SseHandler& handler) {
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
    // The data buffer holds one "\n" per line, so this is the event's size once the last "\n"
    // is dropped.
    const size_t buffered = has_data_view_ ? data_view_.size() + 1 : data_.size();
    if (buffered + value.size() > limits_.max_event_bytes) {
      return fail("upstream SSE event exceeds max_event_bytes (" +
                  std::to_string(limits_.max_event_bytes) + ")");
    }
    if (in_slice && !has_data_view_ && data_.empty()) {
      data_view_ = value;
      has_data_view_ = true;
    } else {
      keep_data();
      data_.append(value);
      data_.push_back('\n');
    }
  } else if (name == "event") {
    type_.assign(value);
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (name == "retry") {
    if (auto ms = parse_retry(value)) retry_ms_ = *ms;
  }
  return ok_status();
}

void SseParser::keep_data() {
  if (!has_data_view_) return;
  data_.assign(data_view_);
  data_.push_back('\n');
  has_data_view_ = false;
}

void SseParser::dispatch(SseHandler& handler, bool cut) {
  if (!has_data_view_ && data_.empty()) {
    if (!type_.empty()) type_.clear();
    return;
  }
  SseEvent event;
  if (has_data_view_) {
    event.data = data_view_;
    has_data_view_ = false;
  } else {
    data_.pop_back();
    event.data = data_;
  }
  event.type = type_.empty() ? std::string_view("message") : std::string_view(type_);
  event.last_event_id = last_id_;
  event.cut = cut;
  handler.on_event(event);
  data_.clear();
  if (!type_.empty()) type_.clear();
}

Status SseParser::fail(std::string message) {
  failed_ = true;
  error_ = make_error(Errc::kUpstreamBadResponse, std::move(message));
  return error_;
}

}  // namespace zproxy
