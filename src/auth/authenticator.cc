#include "auth/authenticator.h"

#include <utility>

#include "common/sha256.h"
#include "auth/token.h"

namespace qs::auth {
namespace {

// One detail for every refusal: telling "revoked" from "unknown" would let a
// caller probe which tokens once existed.
constexpr char kInvalidKeyDetail[] = "API key is not valid";

}  // namespace

template <typename V>
bool Authenticator::TtlCache<V>::Find(const std::string& hash,
                                      std::chrono::steady_clock::time_point now,
                                      V* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(hash);
  if (it == entries_.end()) return false;
  // An expired entry stays until a full cache sweeps it: Held still tells
  // that the key was seen.
  if (now - it->second.fetched >= ttl_) return false;
  *out = it->second.value;
  return true;
}

template <typename V>
bool Authenticator::TtlCache<V>::Held(const std::string& hash) {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.count(hash) > 0;
}

template <typename V>
void Authenticator::TtlCache<V>::Insert(
    const std::string& hash, V value,
    std::chrono::steady_clock::time_point now) {
  if (max_entries_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(hash);
  if (it == entries_.end() && entries_.size() >= max_entries_) {
    for (auto e = entries_.begin(); e != entries_.end();) {
      e = now - e->second.fetched >= ttl_ ? entries_.erase(e) : std::next(e);
    }
    const size_t keep = max_entries_ - std::max<size_t>(1, max_entries_ / 4);
    while (entries_.size() > keep) entries_.erase(entries_.begin());
  }
  entries_.insert_or_assign(hash, Entry{std::move(value), now});
}

template <typename V>
size_t Authenticator::TtlCache<V>::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

// The two caches the authenticator holds (the members are defined here).
template class Authenticator::TtlCache<store::KeyRecord>;
template class Authenticator::TtlCache<Authenticator::Nothing>;

Authenticator::Authenticator(store::KeyStore& keys, const Clock& clock,
                             metrics::Metrics& metrics,
                             AuthenticatorOptions options)
    : keys_(keys),
      clock_(clock),
      metrics_(metrics),
      options_(options),
      keys_cache_(options.cache_ttl, options.cache_max_entries),
      unknown_cache_(options.negative_cache_ttl,
                     options.negative_cache_max_entries) {}

Result<Principal> Authenticator::Unknown() {
  metrics_.AuthFailure(metrics::AuthFailureReason::kUnknown).Increment();
  return Error::Unauthenticated(kInvalidKeyDetail);
}

std::optional<Result<Principal>> Authenticator::TryCached(
    std::string_view token) {
  if (!IsIssuedToken(token)) return Unknown();
  const std::string hash = Sha256Hex(token);
  const auto now = clock_.SteadyNow();
  store::KeyRecord record;
  if (keys_cache_.Find(hash, now, &record)) {
    metrics_.key_cache_hits().Increment();
    return Decide(record);
  }
  Nothing nothing;
  if (unknown_cache_.Find(hash, now, &nothing)) {
    metrics_.key_cache_negative_hits().Increment();
    return Unknown();
  }
  return std::nullopt;
}

bool Authenticator::SeenKey(std::string_view token) {
  if (!IsIssuedToken(token)) return false;
  return keys_cache_.Held(Sha256Hex(token));
}

Result<Principal> Authenticator::Authenticate(std::string_view token) {
  if (auto cached = TryCached(token)) return std::move(*cached);
  metrics_.key_cache_misses().Increment();
  std::string hash = Sha256Hex(token);
  // Concurrent misses on one hash may each ask the store; that is rare and
  // harmless, and cheaper than holding a lock across I/O.
  Result<std::optional<store::KeyRecord>> found = keys_.FindByTokenHash(hash);
  if (!found.ok()) return found.error();  // not cached: retry next time
  if (found.value()) {
    keys_cache_.Insert(hash, *found.value(), clock_.SteadyNow());
  } else {
    unknown_cache_.Insert(hash, Nothing{}, clock_.SteadyNow());
  }
  return Decide(found.value());
}

Result<Principal> Authenticator::Decide(
    const std::optional<store::KeyRecord>& record) {
  if (!record) return Unknown();
  if (record->revoked) {
    metrics_.AuthFailure(metrics::AuthFailureReason::kRevoked).Increment();
    return Error::Unauthenticated(kInvalidKeyDetail);
  }
  if (record->expires_at_unix &&
      *record->expires_at_unix <= clock_.NowUnixSeconds()) {
    metrics_.AuthFailure(metrics::AuthFailureReason::kExpired).Increment();
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
