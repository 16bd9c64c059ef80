#pragma once

#include <string>
#include <string_view>

namespace qs::auth {

// SHA-256 (FIPS 180-4) of `data`, as 64 lower-case hex digits. API keys are
// stored and looked up only by this digest of their token.
std::string Sha256Hex(std::string_view data);

}  // namespace qs::auth
