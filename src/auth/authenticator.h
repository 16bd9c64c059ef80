#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "common/status.h"
#include "metrics/metrics.h"
#include "store/key_store.h"

namespace qs::auth {

// Who is calling, once a token has been checked.
struct Principal {
  int64_t key_id = 0;
  int64_t license_id = 0;
  int32_t rate_limit = 0;  // key's own, else license's, else the default
};

struct AuthenticatorOptions {
  int32_t default_rate_limit = 5000;
  // How long a lookup (valid or not) is reused. A revoked key stops working
  // within this time on every instance.
  std::chrono::milliseconds cache_ttl{5000};
  size_t cache_max_entries = 100000;
};

// Checks bearer tokens against the key store, through a small bounded
// in-process cache so that a poll does not cost a key lookup every time.
// Thread-safe.
class Authenticator {
 public:
  Authenticator(store::KeyStore& keys, const Clock& clock,
                metrics::Metrics& metrics, AuthenticatorOptions options);
  // kUnauthenticated for malformed, unknown, revoked or expired tokens, all
  // with the same detail so a client cannot tell which (the reason goes to
  // the auth-failure metric); kUnavailable (or whatever the store returned)
  // when the store fails.
  Result<Principal> Authenticate(std::string_view token);
  // Authenticate's answer when it needs no I/O (a malformed token, or a
  // cached lookup); nullopt when only the store can tell.
  std::optional<Result<Principal>> TryCached(std::string_view token);

 private:
  // A store answer: the record, or none for a hash no key has. Expiry is
  // decided per request, so a cached record still expires on time.
  struct CacheEntry {
    std::optional<store::KeyRecord> record;
    std::chrono::steady_clock::time_point fetched;
  };

  // The cached answer for `hash` if still fresh; true on a hit.
  bool CacheLookup(const std::string& hash,
                   std::optional<store::KeyRecord>* out);
  void CacheInsert(const std::string& hash,
                   std::optional<store::KeyRecord> record);
  Result<Principal> Decide(const std::optional<store::KeyRecord>& record);

  store::KeyStore& keys_;
  const Clock& clock_;
  metrics::Metrics& metrics_;
  const AuthenticatorOptions options_;

  std::mutex mu_;  // guards cache_; never held across a store call
  std::unordered_map<std::string, CacheEntry> cache_;  // by token SHA-256
};

}  // namespace qs::auth
