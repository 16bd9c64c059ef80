// The text of a MOVED or ASK error, read directly (the reply fuzzer reaches
// it only through hiredis's framing).
//
// Properties: accepted exactly for "MOVED " or "ASK ", a slot of at most five
// digits in 0..16383, a space, and host:port split at the last colon, with a
// port of at most five digits in 1..65535 and a non-empty host of at most 255
// characters of [A-Za-z0-9.:_-] (brackets around it removed); the outputs are
// then those parts, and printing them back parses to the same redirect.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "ratelimit/redis_reply.h"

namespace {

using qs::ratelimit::ParseRedirect;
using qs::ratelimit::ReplyKind;

bool Number(std::string_view s, int lo, int hi, int* out) {
  if (s.empty() || s.size() > 5) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

struct Redirect {
  ReplyKind kind;
  int slot;
  std::string host;
  int port;
};

bool Reference(std::string_view text, Redirect* r) {
  if (text.rfind("MOVED ", 0) == 0) {
    r->kind = ReplyKind::kMoved;
    text.remove_prefix(6);
  } else if (text.rfind("ASK ", 0) == 0) {
    r->kind = ReplyKind::kAsk;
    text.remove_prefix(4);
  } else {
    return false;
  }
  size_t space = text.find(' ');
  if (space == std::string_view::npos) return false;
  if (!Number(text.substr(0, space), 0, 16383, &r->slot)) return false;
  std::string_view address = text.substr(space + 1);
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return false;
  if (!Number(address.substr(colon + 1), 1, 65535, &r->port)) return false;
  std::string_view host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == ':' ||
              c == '_';
    if (!ok) return false;
  }
  r->host = std::string(host);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ReplyKind kind = ReplyKind::kUnexpected;
  int slot = -1, port = -1;
  std::string host;
  bool ok = ParseRedirect(text, &kind, &slot, &host, &port);
  Redirect want{};
  QS_FUZZ_CHECK(ok == Reference(text, &want),
                "ParseRedirect accepts what the reference accepts");
  if (!ok) return 0;
  QS_FUZZ_CHECK(kind == want.kind && slot == want.slot && host == want.host &&
                    port == want.port,
                "ParseRedirect reads what the reference reads");

  std::string printed =
      std::string(kind == ReplyKind::kMoved ? "MOVED " : "ASK ") +
      std::to_string(slot) + " " + host + ":" + std::to_string(port);
  ReplyKind kind2 = ReplyKind::kUnexpected;
  int slot2 = -1, port2 = -1;
  std::string host2;
  QS_FUZZ_CHECK(ParseRedirect(printed, &kind2, &slot2, &host2, &port2),
                "a redirect printed back parses");
  QS_FUZZ_CHECK(
      kind2 == kind && slot2 == slot && host2 == host && port2 == port,
      "a redirect printed back parses to the same redirect");
  return 0;
}
