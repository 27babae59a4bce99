#pragma once
// A check on raw request-head bytes that Boost 1.74's parser does not make: it still accepts
// obs-fold (a header line continued on the next line, which starts with SP or HTAB) and joins
// the lines, which RFC 9112 section 5.2 lets a server do only for messages it does not relay.
// A folded line hides headers from one parser and not another (request smuggling): answer 400.
//
//   obs-fold = OWS CRLF RWS   ; a line break followed by SP or HTAB, anywhere in the head

#include <cstddef>
#include <string_view>

namespace zproxy::native {

enum class FoldScan : unsigned char {
  kMore,     // no fold so far; the head has not ended within `bytes`
  kHeadEnd,  // the head ends (an empty line) with no fold before it: stop scanning
  kFold,     // a folded line
};

// Scans `bytes` (the start of a request, as buffered) from `from`, which it advances so that
// the next call with more bytes resumes where this one stopped. A line break at the very end
// stays unscanned until the byte after it arrives.
inline FoldScan scan_for_fold(std::string_view bytes, size_t& from) {
  for (size_t i = from; i < bytes.size(); ++i) {
    if (bytes[i] != '\n') continue;
    if (i + 1 == bytes.size()) {
      from = i;
      return FoldScan::kMore;
    }
    const char next = bytes[i + 1];
    if (next == ' ' || next == '\t') return FoldScan::kFold;
    if (next == '\r' || next == '\n') return FoldScan::kHeadEnd;
  }
  from = bytes.size();
  return FoldScan::kMore;
}

}  // namespace zproxy::native
