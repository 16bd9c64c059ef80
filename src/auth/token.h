#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace qs::auth {

// The prefix of every token this service issues, so that secret scanners
// (and people) can recognise a leaked one.
inline constexpr std::string_view kTokenPrefix = "qsk_";

// A new API token: "qsk_" followed by 32 bytes from the kernel (FillRandom)
// in unpadded base64url, 47 characters of [A-Za-z0-9_-] in all. Aborts the
// process if the kernel cannot supply randomness: a guessable key is worse
// than no key.
std::string NewToken();

// The longest token the API accepts.
inline constexpr size_t kMaxTokenLength = 255;

// Whether `s` has the shape of a token the API accepts: 1 to kMaxTokenLength
// identifier characters, [A-Za-z0-9_-] (ascii::IsIdentifierChar). Says
// nothing about whether the key exists.
bool LooksLikeToken(std::string_view s);

// Whether `s` could have come from NewToken: "qsk_" and exactly 43 base64url
// characters whose last one carries no bits beyond the 256 (32 bytes * 8)
// encoded. Anything else cannot be a key this service made, and is refused
// without a lookup. Says nothing about whether the key exists.
bool IsIssuedToken(std::string_view s);

}  // namespace qs::auth
