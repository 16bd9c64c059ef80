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
  // How long a key's lookup is reused. A revoked key stops working within
  // this time on every instance.
  std::chrono::milliseconds cache_ttl{5000};
  size_t cache_max_entries = 100000;
  // Tokens no key has are remembered apart, so that a flood of them never
  // pushes real keys out: for this long (a key created meanwhile is seen
  // once it passes) and at most this many.
  std::chrono::milliseconds negative_cache_ttl{5000};
  size_t negative_cache_max_entries = 50000;
};

// Checks bearer tokens against the key store, through small bounded
// in-process caches so that a poll does not cost a key lookup every time.
// Thread-safe; no callback, nothing runs on another thread.
class Authenticator {
 public:
  Authenticator(store::KeyStore& keys, const Clock& clock,
                metrics::Metrics& metrics, AuthenticatorOptions options);
  // kUnauthenticated for malformed, unknown, revoked or expired tokens, all
  // with the same detail so a client cannot tell which (the reason goes to
  // the auth-failure metric); kUnavailable (or whatever the store returned)
  // when the store fails. A token that IsIssuedToken refuses never reaches
  // the store. Blocks on the store on a cache miss.
  Result<Principal> Authenticate(std::string_view token);
  // Authenticate's answer when it needs no I/O (a token of the wrong shape,
  // a cached key, a cached unknown token); nullopt when only the store can
  // tell. Never blocks on I/O.
  std::optional<Result<Principal>> TryCached(std::string_view token);
  // Whether `token` is a key this instance has looked up and still holds in
  // its key cache, fresh or past its TTL (an expired entry stays until a
  // full cache sweeps it). A guessed token never is. Never blocks on I/O.
  bool SeenKey(std::string_view token);

  // How many entries each cache holds (for tests).
  size_t cached_keys() { return keys_cache_.size(); }
  size_t cached_unknown() { return unknown_cache_.size(); }

 private:
  // A bounded map from token hash to a value with its fetch time. Full: the
  // expired entries are swept, then arbitrary ones dropped down to 3/4 of
  // the bound, so at least max/4 inserts pass between two sweeps (O(1)
  // amortised) and a full cache never empties at once.
  template <typename V>
  class TtlCache {
   public:
    TtlCache(std::chrono::milliseconds ttl, size_t max_entries)
        : ttl_(ttl), max_entries_(max_entries) {}
    bool Find(const std::string& hash,
              std::chrono::steady_clock::time_point now, V* out);
    // Whether an entry for `hash` is held, fresh or expired.
    bool Held(const std::string& hash);
    void Insert(const std::string& hash, V value,
                std::chrono::steady_clock::time_point now);
    size_t size();

   private:
    struct Entry {
      V value;
      std::chrono::steady_clock::time_point fetched;
    };
    const std::chrono::milliseconds ttl_;
    const size_t max_entries_;
    std::mutex mu_;  // never held across a store call
    std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
  };

  Result<Principal> Decide(const std::optional<store::KeyRecord>& record);
  Result<Principal> Unknown();

  store::KeyStore& keys_;
  const Clock& clock_;
  metrics::Metrics& metrics_;
  const AuthenticatorOptions options_;

  TtlCache<store::KeyRecord> keys_cache_;  // hashes a key has, by SHA-256
  struct Nothing {};
  TtlCache<Nothing> unknown_cache_;  // hashes no key has
};

}  // namespace qs::auth
