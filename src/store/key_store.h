#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

namespace qs::store {

// An API key as stored: never the token, only what authorises a request.
struct KeyRecord {
  int64_t key_id = 0;
  int64_t license_id = 0;
  std::optional<int32_t> key_rate_limit;      // the key's own hourly limit
  std::optional<int32_t> license_rate_limit;  // else its license's
  bool revoked = false;
  std::optional<int64_t> expires_at_unix;  // none: never expires
};

// Looks keys up by the SHA-256 (lower-case hex) of their token. Must not
// throw; a key that does not exist is an empty optional, not an error.
class KeyStore {
 public:
  virtual ~KeyStore() = default;
  virtual Result<std::optional<KeyRecord>> FindByTokenHash(
      const std::string& token_hash) = 0;
};

}  // namespace qs::store
