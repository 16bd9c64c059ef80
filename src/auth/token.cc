#include "auth/token.h"

#include "common/ascii.h"
#include "common/random.h"
#include "common/text.h"

namespace qs::auth {
namespace {

constexpr size_t kTokenBytes = 32;

int Base64UrlValue(char c) {
  if (ascii::IsUpper(c)) return c - 'A';
  if (ascii::IsLower(c)) return c - 'a' + 26;
  if (ascii::IsDigit(c)) return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::string NewToken() {
  unsigned char raw[kTokenBytes];
  FillRandom(raw, sizeof raw);
  std::string token(kTokenPrefix);
  token += Base64UrlEncode(raw, sizeof raw);
  return token;
}

bool LooksLikeToken(std::string_view s) {
  return ascii::IsIdentifier(s, kMaxTokenLength);
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
