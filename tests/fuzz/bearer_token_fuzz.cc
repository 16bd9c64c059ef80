// The Authorization header value, and the token shape check applied to what
// it carries.
//
// Properties: BearerToken accepts exactly the values that start with the
// scheme "bearer" (any case) followed by the end or a space; the token it
// returns is the rest without the leading spaces and trailing blanks, so it
// never starts with a space or ends with a blank; putting the token back
// behind any spelling of the scheme gives it back unchanged. LooksLikeToken
// agrees with the documented shape, and every issued token has it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/bearer.h"
#include "auth/token.h"
#include "fuzz/fuzz_check.h"

namespace {

using qs::auth::BearerToken;
using qs::auth::LooksLikeToken;

bool StartsWithSchemeAnyCase(std::string_view h) {
  constexpr std::string_view kScheme = "bearer";
  if (h.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = h[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return false;
  }
  return true;
}

bool ReferenceLooksLikeToken(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (unsigned char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Issued tokens have the accepted shape (and the issuer's prefix).
  for (int i = 0; i < 64; ++i) {
    std::string token = qs::auth::NewToken();
    QS_FUZZ_CHECK(token.size() == 47, "an issued token has 47 characters");
    QS_FUZZ_CHECK(token.rfind(qs::auth::kTokenPrefix, 0) == 0,
                  "an issued token starts with the prefix");
    QS_FUZZ_CHECK(LooksLikeToken(token), "an issued token looks like one");
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header(reinterpret_cast<const char*>(data), size);

  QS_FUZZ_CHECK(LooksLikeToken(header) == ReferenceLooksLikeToken(header),
                "LooksLikeToken agrees with the documented shape");

  std::optional<std::string> token = BearerToken(header);
  bool scheme_ok = StartsWithSchemeAnyCase(header) &&
                   (header.size() == 6 || header[6] == ' ');
  QS_FUZZ_CHECK(token.has_value() == scheme_ok,
                "accepted exactly when the scheme is bearer, then a space");
  if (!token) return 0;

  std::string_view rest = header.substr(6);
  size_t first = rest.find_first_not_of(' ');
  rest =
      first == std::string_view::npos ? std::string_view() : rest.substr(first);
  size_t last = rest.find_last_not_of(" \t");
  rest = last == std::string_view::npos ? std::string_view()
                                        : rest.substr(0, last + 1);
  QS_FUZZ_CHECK(*token == rest,
                "the token is the rest without leading spaces and trailing "
                "blanks");
  QS_FUZZ_CHECK(
      token->empty() || (token->front() != ' ' && token->back() != ' ' &&
                         token->back() != '\t'),
      "the token is trimmed");

  // Any spelling of the scheme, any run of spaces, trailing blanks: the same
  // token comes back.
  std::string respelled = "BeArEr";
  respelled.append(1 + size % 3, ' ');
  respelled += *token;
  respelled += size % 2 ? " \t" : "";
  QS_FUZZ_CHECK(BearerToken(respelled) == token,
                "the token round-trips behind another spelling of the scheme");

  // A token with the shape of a key carries no blank or control character.
  if (LooksLikeToken(*token)) {
    QS_FUZZ_CHECK(token->find_first_of(" \t\r\n") == std::string::npos,
                  "a key-shaped token has no whitespace");
  }
  return 0;
}
