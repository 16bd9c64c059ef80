// HTTP/1.1 request framing (RFC 9112), done by the service itself so that
// Pistache's own parser never sees a client's bytes. The framer decides where
// one request ends and the next begins, and refuses anything ambiguous: a
// request that two parsers could read differently (a proxy and this service)
// is how requests are smuggled, so every doubtful case is an error here, not
// a guess. Pure code over a byte buffer: no I/O, no allocation beyond the
// result, safe on any bytes (it is fuzzed).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qs::http {

struct FramerLimits {
  // A `json` parameter may hold 4096 bytes, percent-encoded up to three
  // times that: the request line must fit it.
  size_t max_request_line = 16384;  // longer: 414
  size_t max_header_bytes = 32768;  // whole head, request line included: 431
  size_t max_header_fields = 100;   // more: 431
  size_t max_body_bytes = 8192;     // decoded body: 413 (GET has no use for one)
};

struct HeaderField {
  std::string name;  // lower-case
  std::string value;  // without leading and trailing blanks
};

// One complete request. Its body, if it had one, has been read and dropped:
// no endpoint of this service reads a request body.
struct FramedRequest {
  std::string method;  // as sent (methods are case-sensitive)
  std::string target;  // the request-target, 1..max_request_line visible bytes
  int minor_version = 1;  // HTTP/1.0 or HTTP/1.1
  std::vector<HeaderField> headers;
  // Whether the connection may carry another request after this one
  // (HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with keep-alive).
  bool keep_alive = true;

  // The path and the query string of the target (without '?'). An
  // absolute-form target (http://host/path?q) gives its path and query.
  std::string_view path() const;
  std::string_view query() const;
  // The first field named `lower_name`, or nullopt.
  std::optional<std::string> Header(std::string_view lower_name) const;
  // Every field named `lower_name`, joined with ", " (list-valued fields
  // such as X-Forwarded-For may be split over several lines), or nullopt.
  std::optional<std::string> CombinedHeader(std::string_view lower_name) const;
};

// Why a request was refused. `title` matches ^[A-Za-z0-9\s]+$ and `detail`
// ^[A-Za-z0-9\s.,\-]+$ (problem-details patterns): both are static text.
struct FrameError {
  int status = 400;
  const char* title = "Bad Request";
  const char* detail = "";
};

struct FrameResult {
  enum class Kind {
    kNeedMore,  // no complete request yet; nothing is wrong so far
    kRequest,   // `request` is complete and used `consumed` bytes
    kError,     // the bytes cannot be a valid request: answer and close
  };
  Kind kind = Kind::kNeedMore;
  size_t consumed = 0;
  FramedRequest request;
  FrameError error;
};

// Frames the first request in `buffer` (the bytes received and not yet
// consumed on one connection). Call again on the rest after a kRequest. Up
// to two empty lines before a request line are skipped (RFC 9112, 2.2).
// Refuses with 400: a malformed request line or header field, a bare CR or
// LF, obs-fold, a control byte, a version other than 1.0 and 1.1, a
// Content-Length that is not a plain decimal number or differs between
// copies, both Content-Length and Transfer-Encoding, any transfer coding but
// "chunked", malformed chunking, a repeated Authorization field. Refuses with
// 414, 431 and 413 past the limits. Never reads past `buffer`.
FrameResult FrameRequest(std::string_view buffer, const FramerLimits& limits);

}  // namespace qs::http
