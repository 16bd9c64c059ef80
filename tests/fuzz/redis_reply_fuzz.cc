// Bytes from a Redis server, read by hiredis's reader (the one every
// connection uses), each reply handed to the limiter's classifier.
//
// Properties: ClassifyReply is total and consistent with the reply's type
// and text (integers and strings carried over exactly, error prefixes mapped
// to their kinds, a redirect only with an address that ParseRedirect accepts
// and within the documented ranges); reading the bytes in one piece or one
// byte at a time yields the same replies.
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "ratelimit/redis_reply.h"

namespace {

using qs::ratelimit::ClassifiedReply;
using qs::ratelimit::ClassifyReply;
using qs::ratelimit::ParseRedirect;
using qs::ratelimit::ReplyKind;

struct ReaderDeleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};
struct ReplyDeleter {
  void operator()(void* r) const { freeReplyObject(r); }
};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// hiredis 0.14 allocates the element array a multi-bulk header announces
// before any element arrives, and only Redis itself (trusted, on the
// operator's network) talks to us. Inputs announcing more than this many
// elements are skipped so that the run measures our code, not calloc.
constexpr long long kMaxAnnouncedElements = 1 << 16;

bool AnnouncesHugeArray(std::string_view in) {
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '*') continue;
    size_t j = i + 1;
    if (j < in.size() && in[j] == '-') ++j;
    long long n = 0;
    size_t digits = 0;
    while (j < in.size() && in[j] >= '0' && in[j] <= '9' && digits < 12) {
      n = n * 10 + (in[j] - '0');
      ++j;
      ++digits;
    }
    if (digits == 12 || n > kMaxAnnouncedElements) return true;
  }
  return false;
}

// A flat description of a reply tree, to compare two readings.
void Describe(const redisReply& r, std::string* out) {
  *out += std::to_string(r.type) + ":";
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      *out += std::to_string(r.integer);
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      *out += std::to_string(r.len) + ":" + std::string(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      *out += std::to_string(r.elements) + "[";
      for (size_t i = 0; i < r.elements; ++i) Describe(*r.element[i], out);
      *out += "]";
      break;
    default:
      break;
  }
  *out += ";";
}

bool ValidHost(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  for (char c : h) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == ':' ||
              c == '_';
    if (!ok) return false;
  }
  return true;
}

void CheckRedirectRoundTrip(const ClassifiedReply& c) {
  for (bool bracket : {false, true}) {
    std::string text =
        std::string(c.kind == ReplyKind::kMoved ? "MOVED " : "ASK ") +
        std::to_string(c.slot) + " " + (bracket ? "[" + c.host + "]" : c.host) +
        ":" + std::to_string(c.port);
    ReplyKind kind = ReplyKind::kUnexpected;
    int slot = -2, port = -2;
    std::string host;
    QS_FUZZ_CHECK(ParseRedirect(text, &kind, &slot, &host, &port),
                  "a redirect printed back parses");
    QS_FUZZ_CHECK(
        kind == c.kind && slot == c.slot && host == c.host && port == c.port,
        "a redirect printed back parses to the same redirect");
  }
}

void Check(const redisReply& r) {
  ClassifiedReply c = ClassifyReply(r);
  bool redirect = c.kind == ReplyKind::kMoved || c.kind == ReplyKind::kAsk;
  if (!redirect) {
    QS_FUZZ_CHECK(c.slot == -1 && c.host.empty() && c.port == 0,
                  "only a redirect carries an address");
  }
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      QS_FUZZ_CHECK(c.kind == ReplyKind::kInteger && c.integer == r.integer,
                    "an integer reply is carried over");
      return;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      QS_FUZZ_CHECK(c.kind == ReplyKind::kString &&
                        c.text == std::string_view(r.str, r.len),
                    "a string reply is carried over byte for byte");
      return;
    case REDIS_REPLY_ERROR:
      break;
    case REDIS_REPLY_ARRAY:
      QS_FUZZ_CHECK(c.kind == ReplyKind::kUnexpected, "an array is unexpected");
      for (size_t i = 0; i < r.elements; ++i) Check(*r.element[i]);
      return;
    default:
      QS_FUZZ_CHECK(c.kind == ReplyKind::kUnexpected, "nil is unexpected");
      return;
  }

  std::string_view text(r.str, r.len);
  QS_FUZZ_CHECK(c.text == text, "an error's text is carried over");
  ReplyKind kind = ReplyKind::kUnexpected;
  int slot = 0, port = 0;
  std::string host;
  bool parses = ParseRedirect(text, &kind, &slot, &host, &port);
  if (StartsWith(text, "NOSCRIPT")) {
    QS_FUZZ_CHECK(c.kind == ReplyKind::kNoScript, "NOSCRIPT is kNoScript");
  } else if (StartsWith(text, "MOVED ") || StartsWith(text, "ASK ")) {
    QS_FUZZ_CHECK(redirect == parses,
                  "a redirect is classified as one exactly when it parses");
    if (!parses) {
      QS_FUZZ_CHECK(c.kind == ReplyKind::kError,
                    "a redirect that does not parse is an error");
    }
  } else if (StartsWith(text, "READONLY")) {
    QS_FUZZ_CHECK(c.kind == ReplyKind::kReadOnly, "READONLY is kReadOnly");
  } else if (StartsWith(text, "TRYAGAIN") || StartsWith(text, "CLUSTERDOWN")) {
    QS_FUZZ_CHECK(c.kind == ReplyKind::kTryAgain, "TRYAGAIN is kTryAgain");
  } else {
    QS_FUZZ_CHECK(c.kind == ReplyKind::kError && !parses,
                  "any other error is kError");
  }
  if (redirect) {
    QS_FUZZ_CHECK(
        kind == c.kind && slot == c.slot && host == c.host && port == c.port,
        "ClassifyReply and ParseRedirect read a redirect alike");
    QS_FUZZ_CHECK(c.slot >= 0 && c.slot <= 16383, "slot in 0..16383");
    QS_FUZZ_CHECK(c.port >= 1 && c.port <= 65535, "port in 1..65535");
    QS_FUZZ_CHECK(ValidHost(c.host), "a redirect's host is a host name");
    CheckRedirectRoundTrip(c);
  }
}

// Reads `in` fed in pieces of `chunk` bytes; returns the replies described,
// then "ERR" if the reader failed. Each reply is checked on the way.
std::string Read(std::string_view in, size_t chunk) {
  std::unique_ptr<redisReader, ReaderDeleter> reader(redisReaderCreate());
  QS_FUZZ_CHECK(reader != nullptr, "a reader is created");
  std::string out;
  size_t fed = 0;
  while (true) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) {
      return out + "ERR";
    }
    std::unique_ptr<void, ReplyDeleter> reply(raw);
    if (raw != nullptr) {
      const redisReply& r = *static_cast<redisReply*>(raw);
      Check(r);
      Describe(r, &out);
      continue;
    }
    if (fed == in.size()) return out;
    size_t n = std::min(chunk, in.size() - fed);
    QS_FUZZ_CHECK(redisReaderFeed(reader.get(), in.data() + fed, n) == REDIS_OK,
                  "feeding a healthy reader succeeds");
    fed += n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (AnnouncesHugeArray(input)) return 0;
  std::string whole = Read(input, input.size() + 1);
  std::string bytewise = Read(input, 1);
  QS_FUZZ_CHECK(whole == bytewise,
                "replies do not depend on how the bytes arrive");
  return 0;
}
