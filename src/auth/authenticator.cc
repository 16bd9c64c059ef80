#include "auth/authenticator.h"

#include <utility>

#include "auth/sha256.h"
#include "auth/token.h"

namespace qs::auth {
namespace {

// One detail for every refusal: telling "revoked" from "unknown" would let a
// caller probe which tokens once existed.
constexpr char kInvalidKeyDetail[] = "API key is not valid";

}  // namespace

Authenticator::Authenticator(store::KeyStore& keys, const Clock& clock,
                             metrics::Metrics& metrics,
                             AuthenticatorOptions options)
    : keys_(keys), clock_(clock), metrics_(metrics), options_(options) {}

std::optional<Result<Principal>> Authenticator::TryCached(
    std::string_view token) {
  if (!LooksLikeToken(token)) {
    metrics_.AuthFailure("unknown").Increment();
    return Result<Principal>(Error::Unauthenticated(kInvalidKeyDetail));
  }
  std::optional<store::KeyRecord> record;
  if (!CacheLookup(Sha256Hex(token), &record)) return std::nullopt;
  metrics_.key_cache_hits().Increment();
  return Decide(record);
}

Result<Principal> Authenticator::Authenticate(std::string_view token) {
  if (auto cached = TryCached(token)) return std::move(*cached);
  metrics_.key_cache_misses().Increment();
  std::string hash = Sha256Hex(token);
  // Concurrent misses on one hash may each ask the store; that is rare and
  // harmless, and cheaper than holding a lock across I/O.
  Result<std::optional<store::KeyRecord>> found = keys_.FindByTokenHash(hash);
  if (!found.ok()) return found.error();  // not cached: retry next time
  CacheInsert(hash, found.value());
  return Decide(found.value());
}

bool Authenticator::CacheLookup(const std::string& hash,
                                std::optional<store::KeyRecord>* out) {
  auto now = clock_.SteadyNow();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(hash);
  if (it == cache_.end()) return false;
  if (now - it->second.fetched >= options_.cache_ttl) {
    cache_.erase(it);
    return false;
  }
  *out = it->second.record;
  return true;
}

void Authenticator::CacheInsert(const std::string& hash,
                                std::optional<store::KeyRecord> record) {
  if (options_.cache_max_entries == 0) return;
  auto now = clock_.SteadyNow();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(hash);
  if (it == cache_.end() && cache_.size() >= options_.cache_max_entries) {
    // Full: sweep expired entries; if that frees less than half, drop
    // everything. Either way at least max/2 inserts follow before the next
    // sweep, so the sweep's cost is O(1) amortised per insert.
    for (auto e = cache_.begin(); e != cache_.end();) {
      if (now - e->second.fetched >= options_.cache_ttl) {
        e = cache_.erase(e);
      } else {
        ++e;
      }
    }
    if (cache_.size() > options_.cache_max_entries / 2) cache_.clear();
  }
  cache_.insert_or_assign(hash, CacheEntry{std::move(record), now});
}

Result<Principal> Authenticator::Decide(
    const std::optional<store::KeyRecord>& record) {
  if (!record) {
    metrics_.AuthFailure("unknown").Increment();
    return Error::Unauthenticated(kInvalidKeyDetail);
  }
  if (record->revoked) {
    metrics_.AuthFailure("revoked").Increment();
    return Error::Unauthenticated(kInvalidKeyDetail);
  }
  if (record->expires_at_unix &&
      *record->expires_at_unix <= clock_.NowUnixSeconds()) {
    metrics_.AuthFailure("expired").Increment();
    return Error::Unauthenticated(kInvalidKeyDetail);
  }
  Principal p;
  p.key_id = record->key_id;
  p.license_id = record->license_id;
  if (record->key_rate_limit) {
    p.rate_limit = *record->key_rate_limit;
  } else if (record->license_rate_limit) {
    p.rate_limit = *record->license_rate_limit;
  } else {
    p.rate_limit = options_.default_rate_limit;
  }
  return p;
}

}  // namespace qs::auth
