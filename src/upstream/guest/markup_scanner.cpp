#include "upstream/guest/markup_scanner.h"

#include <algorithm>

namespace zproxy::guest {
namespace {

constexpr std::string_view kDetailsOpen = "<details";
constexpr std::string_view kDetailsClose = "</details>";
constexpr std::string_view kSummaryOpen = "<summary";
constexpr std::string_view kSummaryClose = "</summary>";
constexpr std::string_view kIslandOpen = "<glm_block";
constexpr std::string_view kIslandClose = "</glm_block>";
// Longest fixed look-ahead of a single decision: an open-tag name plus its delimiter.
constexpr size_t kMarkerLookahead = 12;

enum class Match : uint8_t { kNo, kPartial, kFull };

// kPartial: `rest` is a proper prefix of `marker` (the next bytes decide).
Match match_marker(std::string_view rest, std::string_view marker) {
  if (rest.size() >= marker.size()) {
    return rest.substr(0, marker.size()) == marker ? Match::kFull : Match::kNo;
  }
  return marker.substr(0, rest.size()) == rest ? Match::kPartial : Match::kNo;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_tag_delimiter(char c) {
  return is_space(c) || c == '>' || c == '/';
}

// An open tag `name` followed by a delimiter, so "<details" does not match "<detailsx".
Match match_tag(std::string_view rest, std::string_view name) {
  const Match m = match_marker(rest, name);
  if (m != Match::kFull) return m;
  if (rest.size() == name.size()) return Match::kPartial;
  return is_tag_delimiter(rest[name.size()]) ? Match::kFull : Match::kNo;
}

// The attribute type="reasoning" (either quote style) anywhere in the tag.
bool is_reasoning_tag(std::string_view tag) {
  for (std::string_view attr : {"type=\"reasoning\"", "type='reasoning'"}) {
    for (size_t at = tag.find(attr); at != std::string_view::npos; at = tag.find(attr, at + 1)) {
      if (at > 0 && is_space(tag[at - 1])) return true;
    }
  }
  return false;
}

ScanStep need_more() {
  return ScanStep{.need_more = true};
}

ScanStep advance(size_t consumed, size_t examined_end) {
  return ScanStep{.consumed = consumed, .examined_end = examined_end};
}

ScanStep emit(Channel channel, size_t begin, size_t len, size_t examined_end) {
  return ScanStep{.consumed = len,
                  .examined_end = examined_end,
                  .channel = channel,
                  .out_begin = begin,
                  .out_len = len};
}

size_t lookahead_end(std::string_view m, size_t pos) {
  return std::min(m.size(), pos + kMarkerLookahead);
}

ScanStep enter_island(ScanState& st, size_t pos) {
  st.island_return = st.mode;
  st.mode = ScanMode::kIsland;
  return advance(kIslandOpen.size(), pos + kIslandOpen.size() + 1);
}

ScanStep close_block(ScanState& st, size_t consumed, size_t examined_end) {
  st.mode = ScanMode::kContent;
  st.skip_newline = true;
  st.line_start = true;
  return advance(consumed, examined_end);
}

// At "<details" + delimiter: a reasoning block opens, or the whole tag is content.
ScanStep details_step(std::string_view m, size_t pos, ScanState& st) {
  const std::string_view window = m.substr(pos, kMaxTagBytes);
  const size_t gt = window.find('>');
  if (gt == std::string_view::npos) {
    if (window.size() < kMaxTagBytes) return need_more();
    return emit(Channel::kContent, pos, 1, pos + kMaxTagBytes);  // too long for a tag
  }
  const std::string_view tag = window.substr(0, gt + 1);
  if (!is_reasoning_tag(tag)) return emit(Channel::kContent, pos, tag.size(), pos + tag.size());
  st.mode = ScanMode::kHeadNewline;
  return advance(tag.size(), pos + tag.size());
}

ScanStep content_step(std::string_view m, size_t pos, ScanState& st) {
  if (pos == m.size()) return need_more();
  if (st.skip_newline) {
    st.skip_newline = false;
    return advance(m[pos] == '\n' ? 1 : 0, pos + 1);
  }
  if (m[pos] != '<') {
    const size_t end = std::min(m.find('<', pos), m.size());
    return emit(Channel::kContent, pos, end - pos, end);
  }
  const std::string_view rest = m.substr(pos);
  const Match details = match_tag(rest, kDetailsOpen);
  const Match island = match_tag(rest, kIslandOpen);
  if (island == Match::kFull) return enter_island(st, pos);
  if (details == Match::kFull) return details_step(m, pos, st);
  if (details == Match::kPartial || island == Match::kPartial) return need_more();
  return emit(Channel::kContent, pos, 1, lookahead_end(m, pos));
}

ScanStep summary_step(std::string_view m, size_t pos, ScanState& st) {
  const Match open = match_tag(m.substr(pos), kSummaryOpen);
  if (open == Match::kPartial) return need_more();
  if (open == Match::kFull) {
    const std::string_view window = m.substr(pos, kMaxTagBytes);
    const size_t close = window.find(kSummaryClose);
    if (close != std::string_view::npos) {
      st.mode = ScanMode::kSummaryNewline;
      return advance(close + kSummaryClose.size(), pos + close + kSummaryClose.size());
    }
    if (window.size() < kMaxTagBytes) return need_more();
  }
  // No summary (or one too long to be the wrapper's): the body starts here.
  st.mode = ScanMode::kReasoning;
  st.line_start = true;
  return advance(0, open == Match::kFull ? pos + kMaxTagBytes : lookahead_end(m, pos));
}

// At a body line start: "> " and a ">" ending the line are the quote prefix.
ScanStep quote_prefix_step(std::string_view m, size_t pos, ScanState& st) {
  if (pos + 1 == m.size()) return need_more();
  const char next = m[pos + 1];
  st.line_start = false;
  if (next == ' ') return advance(2, pos + 2);
  if (next == '\n') return advance(1, pos + 2);
  return advance(0, pos + 2);
}

ScanStep reasoning_step(std::string_view m, size_t pos, ScanState& st) {
  if (pos == m.size()) return need_more();
  const char c = m[pos];
  if (st.line_start && c == '>') return quote_prefix_step(m, pos, st);
  if (c == '\n') {
    const Match close = match_marker(m.substr(pos + 1), kDetailsClose);
    if (close == Match::kPartial) return need_more();
    if (close == Match::kFull) {
      return close_block(st, 1 + kDetailsClose.size(), pos + 1 + kDetailsClose.size());
    }
    st.line_start = true;
    return emit(Channel::kReasoning, pos, 1, lookahead_end(m, pos + 1));
  }
  if (c == '<') {
    const std::string_view rest = m.substr(pos);
    const Match close = match_marker(rest, kDetailsClose);
    const Match island = match_tag(rest, kIslandOpen);
    if (close == Match::kFull)
      return close_block(st, kDetailsClose.size(), pos + kDetailsClose.size());
    if (island == Match::kFull) return enter_island(st, pos);
    if (close == Match::kPartial || island == Match::kPartial) return need_more();
    st.line_start = false;
    return emit(Channel::kReasoning, pos, 1, lookahead_end(m, pos));
  }
  st.line_start = false;
  const size_t end = std::min(m.find_first_of("\n<", pos), m.size());
  return emit(Channel::kReasoning, pos, end - pos, end);
}

ScanStep island_step(std::string_view m, size_t pos, ScanState& st) {
  const size_t close = m.find(kIslandClose, pos);
  if (close != std::string_view::npos) {
    st.mode = st.island_return;
    return advance(close + kIslandClose.size() - pos, close + kIslandClose.size());
  }
  // Keep back what could be the start of a split "</glm_block>".
  const size_t keep = kIslandClose.size() - 1;
  if (m.size() <= pos + keep) return need_more();
  return advance(m.size() - keep - pos, m.size());
}

ScanStep head_newline_step(std::string_view m, size_t pos, ScanState& st, ScanMode next) {
  if (pos == m.size()) return need_more();
  st.mode = next;
  if (next == ScanMode::kReasoning) st.line_start = true;
  return advance(m[pos] == '\n' ? 1 : 0, pos + 1);
}

}  // namespace

ScanStep scan_step(std::string_view m, size_t pos, ScanState& state) {
  switch (state.mode) {
    case ScanMode::kContent: return content_step(m, pos, state);
    case ScanMode::kHeadNewline: return head_newline_step(m, pos, state, ScanMode::kHeadSummary);
    case ScanMode::kHeadSummary: return summary_step(m, pos, state);
    case ScanMode::kSummaryNewline: return head_newline_step(m, pos, state, ScanMode::kReasoning);
    case ScanMode::kReasoning: return reasoning_step(m, pos, state);
    case ScanMode::kIsland: return island_step(m, pos, state);
  }
  return need_more();
}

ScanStep scan_tail(std::string_view m, size_t pos, const ScanState& state) {
  const std::string_view rest = m.substr(pos);
  ScanStep step = advance(rest.size(), m.size());
  if (state.mode == ScanMode::kContent) {
    return emit(Channel::kContent, pos, rest.size(), m.size());
  }
  if (state.mode == ScanMode::kReasoning) {
    const bool dangling = rest == "\n" || (state.line_start && rest == ">");
    if (!dangling) return emit(Channel::kReasoning, pos, rest.size(), m.size());
  }
  return step;
}

}  // namespace zproxy::guest
