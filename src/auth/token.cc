#include "auth/token.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace qs::auth {
namespace {

constexpr size_t kTokenBytes = 32;
constexpr size_t kMaxTokenLength = 255;
constexpr char kBase64Url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void FillRandom(unsigned char* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = getrandom(buf + got, len - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "getrandom failed (errno %d); aborting\n", errno);
      std::abort();
    }
    got += static_cast<size_t>(n);
  }
}

std::string Base64UrlNoPad(const unsigned char* p, size_t n) {
  std::string out;
  out.reserve((n * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
    out += kBase64Url[(v >> 6) & 63];
    out += kBase64Url[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{p[i]} << 16;
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
    out += kBase64Url[(v >> 6) & 63];
  }
  return out;
}

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::string NewToken() {
  unsigned char raw[kTokenBytes];
  FillRandom(raw, sizeof raw);
  std::string token(kTokenPrefix);
  token += Base64UrlNoPad(raw, sizeof raw);
  return token;
}

bool LooksLikeToken(std::string_view s) {
  if (s.empty() || s.size() > kMaxTokenLength) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsIssuedToken(std::string_view s) {
  constexpr size_t kEncodedLength = (kTokenBytes * 8 + 5) / 6;  // 43
  if (s.size() != kTokenPrefix.size() + kEncodedLength ||
      s.substr(0, kTokenPrefix.size()) != kTokenPrefix) {
    return false;
  }
  int last = 0;
  for (char c : s.substr(kTokenPrefix.size())) {
    last = Base64UrlValue(c);
    if (last < 0) return false;
  }
  // 43 characters hold 258 bits; the 2 bits past the 256 are zero.
  return (last & 3) == 0;
}

}  // namespace qs::auth
