#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace qs::auth {

// The token of an "Authorization: Bearer <token>" header value (scheme
// case-insensitive, RFC 7235; spaces between scheme and token, trailing
// blanks ignored), or nullopt for any other scheme. The token is returned as
// given: whether it has the shape of a key is the authenticator's question.
std::optional<std::string> BearerToken(std::string_view header);

}  // namespace qs::auth
