#include "http_reader.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace zbench {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

void HttpResponseReader::keep(std::string_view data) {
  body_bytes_ += data.size();
  if (body_.size() < keep_limit_) body_.append(data.substr(0, keep_limit_ - body_.size()));
}

// Head grammar: "HTTP/1.x SSS reason\r\n" (name ":" value "\r\n")* "\r\n".
ReadState HttpResponseReader::parse_head() {
  std::string_view head(head_);
  if (head.size() < 12 || head.substr(0, 7) != "HTTP/1.") return ReadState::kBad;
  status_ = std::atoi(std::string(head.substr(9, 3)).c_str());
  if (status_ < 100 || status_ > 599) return ReadState::kBad;
  keep_alive_ = head[7] == '1';
  bool chunked = false, has_length = false;
  size_t pos = head.find("\r\n") + 2;
  while (pos < head.size()) {
    const size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;
    const std::string_view line = head.substr(pos, end - pos);
    pos = end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return ReadState::kBad;
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      has_length = true;
      remaining_ = std::strtoull(std::string(value).c_str(), nullptr, 10);
    } else if (iequals(name, "transfer-encoding")) {
      chunked = icontains(value, "chunked");
    } else if (iequals(name, "connection")) {
      if (icontains(value, "close")) keep_alive_ = false;
      if (icontains(value, "keep-alive")) keep_alive_ = true;
    }
  }
  if (status_ == 204 || status_ == 304) {
    phase_ = Phase::kDone;
  } else if (chunked) {
    phase_ = Phase::kChunkSize;
  } else if (has_length) {
    phase_ = remaining_ == 0 ? Phase::kDone : Phase::kFixed;
  } else {
    phase_ = Phase::kUntilClose;
    keep_alive_ = false;
  }
  return ReadState::kNeedMore;
}

// One step of body framing; consumes from `in`. Chunked grammar:
// (hex-size [";" ext] "\r\n" data "\r\n")* "0\r\n" (trailer-line "\r\n")* "\r\n".
ReadState HttpResponseReader::step_body(std::string_view& in) {
  switch (phase_) {
    case Phase::kFixed: {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
      keep(in.substr(0, n));
      in.remove_prefix(n);
      remaining_ -= n;
      if (remaining_ == 0) phase_ = Phase::kDone;
      return ReadState::kNeedMore;
    }
    case Phase::kUntilClose:
      keep(in);
      in = {};
      return ReadState::kNeedMore;
    case Phase::kChunkData: {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
      keep(in.substr(0, n));
      in.remove_prefix(n);
      remaining_ -= n;
      if (remaining_ == 0) phase_ = Phase::kChunkCrlf;
      return ReadState::kNeedMore;
    }
    default: break;
  }
  // Line-oriented phases: size line, the CRLF after data, trailer lines.
  const size_t nl = in.find('\n');
  if (nl == std::string_view::npos) {
    line_.append(in);
    in = {};
    return line_.size() > 4096 ? ReadState::kBad : ReadState::kNeedMore;
  }
  line_.append(in.substr(0, nl + 1));
  in.remove_prefix(nl + 1);
  std::string_view line = trim(std::string_view(line_).substr(0, line_.size() - 1));
  if (phase_ == Phase::kChunkCrlf) {
    if (!line.empty()) return ReadState::kBad;
    phase_ = Phase::kChunkSize;
  } else if (phase_ == Phase::kChunkSize) {
    char* end = nullptr;
    const std::string digits(line.substr(0, line.find(';')));
    remaining_ = std::strtoull(digits.c_str(), &end, 16);
    if (digits.empty() || end == digits.c_str()) return ReadState::kBad;
    phase_ = remaining_ == 0 ? Phase::kTrailer : Phase::kChunkData;
  } else if (phase_ == Phase::kTrailer && line.empty()) {
    phase_ = Phase::kDone;
  }
  line_.clear();
  return ReadState::kNeedMore;
}

ReadState HttpResponseReader::feed(std::string_view in) {
  if (!in.empty()) started_ = true;
  while (!in.empty()) {
    if (phase_ == Phase::kDone) return ReadState::kBad;
    if (phase_ == Phase::kHead) {
      const size_t before = head_.size();
      head_.append(in);
      const size_t end = head_.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
      if (end == std::string::npos) {
        if (head_.size() > 65536) return ReadState::kBad;
        return ReadState::kNeedMore;
      }
      in.remove_prefix(end + 4 - before);
      head_.resize(end + 4);
      if (parse_head() == ReadState::kBad) return ReadState::kBad;
      continue;
    }
    if (step_body(in) == ReadState::kBad) return ReadState::kBad;
  }
  return phase_ == Phase::kDone ? ReadState::kDone : ReadState::kNeedMore;
}

ReadState HttpResponseReader::on_eof() {
  if (phase_ == Phase::kUntilClose) {
    phase_ = Phase::kDone;
    return ReadState::kDone;
  }
  return phase_ == Phase::kDone ? ReadState::kDone : ReadState::kBad;
}

}  // namespace zbench
