#pragma once
// Incremental HTTP/1.1 response reader for the bench tools: status line, headers, then a body
// framed by Content-Length, chunked transfer coding or the end of the connection. Keeps the
// first `keep_limit` body bytes (decoded) so the caller can check what arrived.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace zbench {

enum class ReadState : uint8_t { kNeedMore, kDone, kBad };

class HttpResponseReader {
 public:
  explicit HttpResponseReader(size_t keep_limit = 1 << 20) : keep_limit_(keep_limit) {}

  void reset() { *this = HttpResponseReader(keep_limit_); }
  // Consumes bytes; kDone once the response is complete (bytes past it are an error: no
  // pipelining here).
  ReadState feed(std::string_view bytes);
  // The peer closed the connection: completes a close-delimited body.
  ReadState on_eof();

  int status() const { return status_; }
  bool keep_alive() const { return keep_alive_; }
  const std::string& body() const { return body_; }
  uint64_t body_bytes() const { return body_bytes_; }
  bool started() const { return started_; }

 private:
  enum class Phase : uint8_t {
    kHead,
    kFixed,
    kChunkSize,
    kChunkData,
    kChunkCrlf,
    kTrailer,
    kUntilClose,
    kDone
  };
  ReadState parse_head();
  ReadState step_body(std::string_view& in);
  void keep(std::string_view data);

  size_t keep_limit_;
  Phase phase_ = Phase::kHead;
  std::string head_;
  std::string line_;  // chunk-size or trailer line being collected
  std::string body_;
  uint64_t remaining_ = 0;
  uint64_t body_bytes_ = 0;
  int status_ = 0;
  bool keep_alive_ = true;
  bool started_ = false;
};

}  // namespace zbench
