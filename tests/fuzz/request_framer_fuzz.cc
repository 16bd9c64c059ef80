// The HTTP/1.1 framer: the first code that sees a client's bytes.
//
// Properties: it never reads outside the buffer (ASan); a framed request
// consumed at least one byte and no more than it was given, and holds only
// what the grammar allows (token method, visible target, lower-case token
// field names, values without CR, LF or NUL); every proper prefix of a
// framed request needs more bytes, and bytes appended after it change
// nothing, so framing does not depend on how the bytes were split into
// reads; writing the framed request back out (without its body) frames to
// the same request; a refusal carries a 4xx status and texts that match the
// problem-details patterns.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "http/request_framer.h"

namespace {

using qs::http::FrameRequest;
using qs::http::FrameResult;
using qs::http::FramerLimits;
using Kind = FrameResult::Kind;

bool Tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
             std::string_view::npos;
}

bool Matches(const char* s, bool allow_punctuation) {
  for (const char* p = s; *p; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || c == ' ';
    if (allow_punctuation) ok = ok || c == '.' || c == ',' || c == '-';
    if (!ok) return false;
  }
  return *s != '\0';
}

std::string Render(const qs::http::FramedRequest& r) {
  std::string out = r.method + " " + r.target + " HTTP/1." +
                    std::to_string(r.minor_version) + "\r\n";
  for (const auto& f : r.headers) {
    if (f.name == "content-length" || f.name == "transfer-encoding") continue;
    out += f.name + ": " + f.value + "\r\n";
  }
  return out + "\r\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small limits, so that the fuzzer reaches them.
  FramerLimits limits;
  limits.max_request_line = 256;
  limits.max_header_bytes = 1024;
  limits.max_header_fields = 16;
  limits.max_body_bytes = 256;
  const std::string buf(reinterpret_cast<const char*>(data), size);
  FrameResult r = FrameRequest(buf, limits);

  if (r.kind == Kind::kError) {
    QS_FUZZ_CHECK(r.error.status >= 400 && r.error.status < 500,
                  "a refusal is a 4xx");
    QS_FUZZ_CHECK(Matches(r.error.title, false), "title pattern");
    QS_FUZZ_CHECK(Matches(r.error.detail, true), "detail pattern");
    return 0;
  }
  if (r.kind == Kind::kNeedMore) return 0;

  QS_FUZZ_CHECK(r.consumed > 0 && r.consumed <= size, "consumed in range");
  const auto& req = r.request;
  QS_FUZZ_CHECK(!req.method.empty(), "method present");
  for (char c : req.method) {
    QS_FUZZ_CHECK(Tchar(static_cast<unsigned char>(c)), "method is a token");
  }
  QS_FUZZ_CHECK(!req.target.empty() &&
                    req.target.size() <= limits.max_request_line,
                "target length");
  for (char c : req.target) {
    QS_FUZZ_CHECK(c > 0x20 && c < 0x7F, "target is visible ASCII");
  }
  QS_FUZZ_CHECK(req.minor_version == 0 || req.minor_version == 1, "version");
  QS_FUZZ_CHECK(req.headers.size() <= limits.max_header_fields, "field count");
  for (const auto& f : req.headers) {
    QS_FUZZ_CHECK(!f.name.empty(), "field name present");
    for (char c : f.name) {
      QS_FUZZ_CHECK(Tchar(static_cast<unsigned char>(c)) &&
                        !(c >= 'A' && c <= 'Z'),
                    "field name is a lower-case token");
    }
    for (char c : f.value) {
      QS_FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0',
                    "field value has no CR, LF or NUL");
    }
    QS_FUZZ_CHECK(f.value.empty() ||
                      (f.value.front() != ' ' && f.value.back() != ' '),
                  "field value trimmed");
  }
  QS_FUZZ_CHECK(!req.path().empty() && req.path().front() == '/' ||
                    req.path() == "*" || !req.path().empty(),
                "path present");

  // Independent of how the bytes were split into reads.
  for (size_t n : {r.consumed - 1, r.consumed / 2, r.consumed / 3}) {
    if (n >= r.consumed) continue;
    FrameResult prefix = FrameRequest(std::string_view(buf).substr(0, n), limits);
    QS_FUZZ_CHECK(prefix.kind == Kind::kNeedMore,
                  "a proper prefix of a request needs more");
  }
  FrameResult exact =
      FrameRequest(std::string_view(buf).substr(0, r.consumed), limits);
  QS_FUZZ_CHECK(exact.kind == Kind::kRequest && exact.consumed == r.consumed,
                "the request alone frames the same");

  // Written back out, it frames to the same request.
  std::string again = Render(req);
  FrameResult back = FrameRequest(again, limits);
  if (again.size() <= limits.max_header_bytes) {
    QS_FUZZ_CHECK(back.kind == Kind::kRequest, "rendered request frames");
    QS_FUZZ_CHECK(back.consumed == again.size(), "rendered consumed whole");
    QS_FUZZ_CHECK(back.request.method == req.method &&
                      back.request.target == req.target &&
                      back.request.minor_version == req.minor_version,
                  "rendered request line is the same");
  }
  return 0;
}
