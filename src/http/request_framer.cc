#include "http/request_framer.h"

#include <algorithm>

#include "common/ascii.h"
#include "common/text.h"
#include "common/header_syntax.h"

namespace qs::http {
namespace {

using Kind = FrameResult::Kind;

constexpr size_t kMaxMethodLength = 32;
constexpr size_t kMaxChunkLine = 1024;
constexpr size_t kMaxChunkSizeDigits = 8;
constexpr size_t kMaxContentLengthDigits = 18;

// field-vchar, SP, HTAB and obs-text; no other control byte, no DEL.
bool IsFieldValueChar(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7F);
}

bool IsTargetChar(unsigned char c) { return c > 0x20 && c < 0x7F; }

FrameResult Fail(int status, const char* title, const char* detail) {
  FrameResult r;
  r.kind = Kind::kError;
  r.error = FrameError{status, title, detail};
  return r;
}

FrameResult BadRequest(const char* detail) {
  return Fail(400, "Bad Request", detail);
}

FrameResult TooLarge() {
  return Fail(413, "Payload Too Large", "The request body is too large");
}

FrameResult NeedMore() { return FrameResult{}; }

// Parses one header-field line (no CRLF) into `out`; false if malformed.
bool ParseFieldLine(std::string_view line, HeaderField* out) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view name = line.substr(0, colon);
  if (!std::all_of(name.begin(), name.end(), IsTchar)) {
    return false;
  }
  std::string_view value = TrimOws(line.substr(colon + 1));
  if (!std::all_of(value.begin(), value.end(), [](char c) {
        return IsFieldValueChar(static_cast<unsigned char>(c));
      })) {
    return false;
  }
  out->name = AsciiLower(name);
  out->value = std::string(value);
  return true;
}

// Reads a chunked body that starts at `p`. On success sets `*end` to the
// offset just past it.
FrameResult ReadChunkedBody(std::string_view buf, size_t p,
                            const FramerLimits& limits, size_t* end) {
  const size_t body_start = p;
  // Chunk lines and extensions cost bytes too: bound what may be buffered.
  const size_t max_raw = 2 * limits.max_body_bytes + 4096;
  size_t total = 0;
  for (;;) {
    if (p - body_start > max_raw) return TooLarge();
    size_t crlf = buf.find("\r\n", p);
    size_t line_len =
        crlf == std::string_view::npos ? buf.size() - p : crlf - p;
    if (line_len > kMaxChunkLine) return BadRequest("Malformed chunked body");
    if (crlf == std::string_view::npos) return NeedMore();
    std::string_view line = buf.substr(p, crlf - p);
    size_t digits = 0;
    size_t size = 0;
    while (digits < line.size()) {
      int v = ascii::HexDigitValue(line[digits]);
      if (v < 0) break;
      if (++digits > kMaxChunkSizeDigits) return TooLarge();
      size = size * 16 + static_cast<size_t>(v);
    }
    if (digits == 0) return BadRequest("Malformed chunked body");
    std::string_view ext = line.substr(digits);
    // chunk-ext: BWS ";" ... ; only its characters are checked.
    std::string_view ext_trimmed = TrimOws(ext);
    if (!ext_trimmed.empty() && ext_trimmed.front() != ';') {
      return BadRequest("Malformed chunked body");
    }
    if (!std::all_of(ext.begin(), ext.end(), [](char c) {
          return IsFieldValueChar(static_cast<unsigned char>(c));
        })) {
      return BadRequest("Malformed chunked body");
    }
    total += size;
    if (total > limits.max_body_bytes) return TooLarge();
    p = crlf + 2;
    if (size == 0) break;
    if (buf.size() - p < size + 2) return NeedMore();
    if (buf.substr(p + size, 2) != "\r\n") {
      return BadRequest("Malformed chunked body");
    }
    p += size + 2;
  }
  // Trailer fields, then the empty line that ends the message.
  size_t trailer_bytes = 0;
  for (;;) {
    size_t crlf = buf.find("\r\n", p);
    // An incomplete line counts only what has arrived: a prefix of a valid
    // request must never be refused where the whole is accepted.
    trailer_bytes += crlf == std::string_view::npos ? buf.size() - p
                                                    : crlf - p + 2;
    if (trailer_bytes > limits.max_header_bytes) {
      return Fail(431, "Request Header Fields Too Large",
                  "The trailer fields are too large");
    }
    if (crlf == std::string_view::npos) return NeedMore();
    if (crlf == p) {
      *end = crlf + 2;
      FrameResult done;
      done.kind = Kind::kRequest;
      return done;
    }
    HeaderField ignored;
    if (!ParseFieldLine(buf.substr(p, crlf - p), &ignored)) {
      return BadRequest("Malformed chunked body");
    }
    p = crlf + 2;
  }
}

// request-line = method SP request-target SP HTTP-version. Fills the method,
// target and version of `req`; kError when malformed.
FrameResult ParseRequestLine(std::string_view line, FramedRequest* out) {
  FramedRequest& req = *out;
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0 || sp1 > kMaxMethodLength) {
    return BadRequest("Malformed request line");
  }
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) {
    return BadRequest("Malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!std::all_of(method.begin(), method.end(), IsTchar) ||
      !std::all_of(target.begin(), target.end(), [](char c) {
        return IsTargetChar(static_cast<unsigned char>(c));
      })) {
    return BadRequest("Malformed request line");
  }
  if (version == "HTTP/1.1") {
    req.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    req.minor_version = 0;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
             ascii::IsDigit(version[5]) && version[6] == '.' &&
             ascii::IsDigit(version[7])) {
    return BadRequest("Only HTTP 1.0 and 1.1 are supported");
  } else {
    return BadRequest("Malformed request line");
  }
  req.method = std::string(method);
  req.target = std::string(target);
  return FrameResult{};
}

}  // namespace

std::string_view FramedRequest::path() const {
  std::string_view t = target;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (t.size() >= scheme.size() &&
        EqualsIgnoreCase(t.substr(0, scheme.size()), scheme)) {
      t.remove_prefix(scheme.size());
      size_t slash = t.find_first_of("/?");
      t = slash == std::string_view::npos ? std::string_view()
                                          : t.substr(slash);
      break;
    }
  }
  size_t end = t.find_first_of("?#");
  std::string_view p = t.substr(0, end);
  return p.empty() ? std::string_view("/") : p;
}

std::string_view FramedRequest::query() const {
  std::string_view t = target;
  size_t q = t.find('?');
  if (q == std::string_view::npos) return {};
  t.remove_prefix(q + 1);
  return t.substr(0, t.find('#'));
}

std::optional<std::string> FramedRequest::Header(
    std::string_view lower_name) const {
  for (const HeaderField& f : headers) {
    if (f.name == lower_name) return f.value;
  }
  return std::nullopt;
}

std::optional<std::string> FramedRequest::CombinedHeader(
    std::string_view lower_name) const {
  std::optional<std::string> out;
  for (const HeaderField& f : headers) {
    if (f.name != lower_name) continue;
    if (out) {
      *out += ", ";
      *out += f.value;
    } else {
      out = f.value;
    }
  }
  return out;
}

FrameResult FrameRequest(std::string_view buf, const FramerLimits& limits) {
  FrameResult result;
  FramedRequest& req = result.request;
  size_t start = 0;
  for (int i = 0; i < 2 && buf.substr(start, 2) == "\r\n"; ++i) start += 2;

  // Find the end of the head, refusing a bare CR or LF on the way (a proxy
  // may end lines at either, so this service must not guess).
  size_t line_end = std::string_view::npos;  // end of the request line
  size_t head_end = std::string_view::npos;  // just past the empty line
  for (size_t i = start; i < buf.size(); ++i) {
    const char c = buf[i];
    if (c == '\n') {
      if (i == start || buf[i - 1] != '\r') {
        return BadRequest("A line of the request ends with a bare line feed");
      }
      if (line_end == std::string_view::npos) {
        line_end = i - 1;
        // Refuse a bad request line at once, not when the head is complete
        // (an HTTP/0.9 "GET /" would otherwise wait for the timeout).
        if (line_end - start > limits.max_request_line) {
          return Fail(414, "URI Too Long", "The request line is too long");
        }
        FrameResult bad =
            ParseRequestLine(buf.substr(start, line_end - start), &req);
        if (bad.kind == Kind::kError) return bad;
      }
      if (i >= start + 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
        head_end = i + 1;
        break;
      }
    } else if (c == '\r' && i + 1 < buf.size() && buf[i + 1] != '\n') {
      return BadRequest("A line of the request holds a bare carriage return");
    }
    if (line_end == std::string_view::npos &&
        i - start >= limits.max_request_line) {
      return Fail(414, "URI Too Long", "The request line is too long");
    }
    if (i - start >= limits.max_header_bytes) {
      return Fail(431, "Request Header Fields Too Large",
                  "The request header fields are too large");
    }
  }
  if (head_end == std::string_view::npos) return NeedMore();

  // Header fields, up to the empty line.
  size_t p = line_end + 2;
  while (p < head_end - 2) {
    size_t crlf = buf.find("\r\n", p);  // found: the head ends in CRLF CRLF
    std::string_view field = buf.substr(p, crlf - p);
    if (IsOws(field.front())) {
      return BadRequest("Folded header field lines are not accepted");
    }
    if (req.headers.size() == limits.max_header_fields) {
      return Fail(431, "Request Header Fields Too Large",
                  "The request has too many header fields");
    }
    HeaderField f;
    if (!ParseFieldLine(field, &f)) return BadRequest("Malformed header field");
    req.headers.push_back(std::move(f));
    p = crlf + 2;
  }

  // Message framing (RFC 9112, 6.3), refusing every ambiguity.
  std::optional<size_t> content_length;
  bool chunked = false;
  bool has_transfer_encoding = false;
  int authorizations = 0;
  bool close = false, keep_alive = false;
  for (const HeaderField& f : req.headers) {
    if (f.name == "content-length") {
      bool ok = true;
      ForEachCommaSeparated(f.value, [&](std::string_view v) {
        int64_t parsed;
        if (!ParseDecimal(v, kMaxContentLengthDigits, 0, INT64_MAX, &parsed)) {
          ok = false;
          return;
        }
        size_t n = static_cast<size_t>(parsed);
        if (content_length && *content_length != n) ok = false;
        content_length = n;
      });
      if (!ok) return BadRequest("Invalid or conflicting Content-Length");
    } else if (f.name == "transfer-encoding") {
      has_transfer_encoding = true;
      chunked = EqualsIgnoreCase(f.value, "chunked");
      if (!chunked)
        return BadRequest("Only the chunked transfer coding is accepted");
    } else if (f.name == "authorization") {
      ++authorizations;
    } else if (f.name == "connection") {
      ForEachCommaSeparated(f.value, [&](std::string_view v) {
        if (EqualsIgnoreCase(v, "close")) close = true;
        if (EqualsIgnoreCase(v, "keep-alive")) keep_alive = true;
      });
    }
  }
  int transfer_encodings = 0;
  for (const HeaderField& f : req.headers) {
    if (f.name == "transfer-encoding") ++transfer_encodings;
  }
  if (transfer_encodings > 1) {
    return BadRequest("Only the chunked transfer coding is accepted");
  }
  if (has_transfer_encoding && content_length) {
    return BadRequest("Content-Length and Transfer-Encoding together");
  }
  if (has_transfer_encoding && req.minor_version == 0) {
    return BadRequest("Transfer-Encoding is not defined for HTTP 1.0");
  }
  if (authorizations > 1) return BadRequest("Repeated Authorization header");
  req.keep_alive = req.minor_version == 1 ? !close : (keep_alive && !close);

  size_t end = head_end;
  if (content_length) {
    if (*content_length > limits.max_body_bytes) return TooLarge();
    if (buf.size() - head_end < *content_length) return NeedMore();
    end = head_end + *content_length;
  } else if (chunked) {
    FrameResult body = ReadChunkedBody(buf, head_end, limits, &end);
    if (body.kind != Kind::kRequest) return body;
  }
  result.kind = Kind::kRequest;
  result.consumed = end;
  return result;
}

}  // namespace qs::http
