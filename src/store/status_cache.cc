#include "store/status_cache.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace qs::store {
namespace {

constexpr size_t kSlotOverhead = 256;

int64_t SteadyNs(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             t.time_since_epoch())
      .count();
}

}  // namespace

CachingQueryStore::CachingQueryStore(QueryStore& backend, const Clock& clock,
                                     metrics::Metrics& metrics, Options options)
    : backend_(backend),
      clock_(clock),
      options_(options),
      hits_(metrics.StatusCache(metrics::CacheResult::kHit)),
      misses_(metrics.StatusCache(metrics::CacheResult::kMiss)),
      bypasses_(metrics.StatusCache(metrics::CacheResult::kBypass)),
      invalidations_(metrics.status_cache_invalidations()) {}

bool CachingQueryStore::Live() const {
  return connected_.load(std::memory_order_acquire) &&
         SteadyNs(clock_.SteadyNow()) <
             live_until_ns_.load(std::memory_order_acquire);
}

void CachingQueryStore::MarkLive() {
  if (!connected_.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(mu_);
    slots_.clear();
    bytes_ = 0;
    connected_.store(true, std::memory_order_release);
  }
  live_until_ns_.store(SteadyNs(clock_.SteadyNow() + options_.freshness),
                       std::memory_order_release);
}

void CachingQueryStore::SetDisconnected() {
  connected_.store(false, std::memory_order_release);
  std::lock_guard<std::mutex> lock(mu_);
  slots_.clear();
  bytes_ = 0;
}

size_t CachingQueryStore::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

void CachingQueryStore::EraseLocked(QuerySlots& slots) {
  for (auto& [key, slot] : slots) bytes_ -= slot.bytes;
  slots.clear();
}

void CachingQueryStore::Invalidate(const std::string& payload) {
  invalidations_.Increment();
  std::lock_guard<std::mutex> lock(mu_);
  if (payload.rfind("q:", 0) == 0) {
    auto it = slots_.find(payload.substr(2));
    if (it != slots_.end()) {
      EraseLocked(it->second);
      slots_.erase(it);
    }
    return;
  }
  int64_t license = 0;
  if (payload.rfind("l:", 0) == 0) {
    const char* begin = payload.data() + 2;
    const char* end = payload.data() + payload.size();
    auto [p, ec] = std::from_chars(begin, end, license);
    if (ec == std::errc() && p == end) {
      for (auto it = slots_.begin(); it != slots_.end();) {
        QuerySlots& q = it->second;
        for (auto s = q.begin(); s != q.end();) {
          if (std::get<0>(s->first) == license) {
            bytes_ -= s->second.bytes;
            s = q.erase(s);
          } else {
            ++s;
          }
        }
        it = q.empty() ? slots_.erase(it) : std::next(it);
      }
      return;
    }
  }
  // Unknown payload: be safe.
  slots_.clear();
  bytes_ = 0;
}

void CachingQueryStore::EvictLocked() {
  if (bytes_ <= options_.max_bytes) return;
  // Drop the least recently used half (by bytes): rare, and O(n) only then.
  std::vector<std::pair<uint64_t, std::pair<std::string, PageKey>>> order;
  for (const auto& [sid, q] : slots_) {
    for (const auto& [key, slot] : q) {
      if (slot.loaded) order.push_back({slot.last_used, {sid, key}});
    }
  }
  std::sort(order.begin(), order.end());
  for (const auto& [used, where] : order) {
    if (bytes_ <= options_.max_bytes / 2) break;
    auto q = slots_.find(where.first);
    auto s = q->second.find(where.second);
    bytes_ -= s->second.bytes;
    q->second.erase(s);
    if (q->second.empty()) slots_.erase(q);
  }
}

std::optional<Result<SnapshotPtr>> CachingQueryStore::HitLocked(Slot& slot) {
  if (!slot.loaded ||
      (slot.snapshot &&
       clock_.NowUnixSeconds() >= slot.snapshot->visible_until_unix)) {
    return std::nullopt;
  }
  slot.last_used = ++tick_;
  hits_.Increment();
  if (!slot.snapshot) {
    return Result<SnapshotPtr>(Error::NotFound("query status not found"));
  }
  return Result<SnapshotPtr>(slot.snapshot);
}

std::optional<Result<SnapshotPtr>> CachingQueryStore::TryReadCached(
    const StatusLookup& lookup) {
  if (!Live()) return std::nullopt;
  PageKey key{lookup.license_id, lookup.first_row, lookup.last_row};
  std::lock_guard<std::mutex> lock(mu_);
  auto q = slots_.find(lookup.schedule_id);
  if (q == slots_.end()) return std::nullopt;
  auto s = q->second.find(key);
  if (s == q->second.end()) return std::nullopt;
  return HitLocked(s->second);
}

Result<SnapshotPtr> CachingQueryStore::ReadStatus(const StatusLookup& lookup) {
  if (!Live()) {
    bypasses_.Increment();
    return backend_.ReadStatus(lookup);
  }
  PageKey key{lookup.license_id, lookup.first_row, lookup.last_row};
  uint64_t token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    QuerySlots& q = slots_[lookup.schedule_id];
    Slot& slot = q[key];
    if (auto hit = HitLocked(slot)) return std::move(*hit);
    // Claim the slot for this read: an invalidation in the meantime erases
    // it (or gives it a new token), and then the result is not kept.
    bytes_ -= slot.bytes;
    slot = Slot{};
    slot.token = token = next_token_++;
  }
  misses_.Increment();
  Result<SnapshotPtr> result = backend_.ReadStatus(lookup);
  bool not_found = !result.ok() && result.error().code == ErrorCode::kNotFound;
  std::lock_guard<std::mutex> lock(mu_);
  auto q = slots_.find(lookup.schedule_id);
  if (q == slots_.end()) return result;
  auto s = q->second.find(key);
  if (s == q->second.end() || s->second.token != token || s->second.loaded) {
    return result;
  }
  if (!result.ok() && !not_found) {
    // Nothing to keep: release the claim.
    q->second.erase(s);
    if (q->second.empty()) slots_.erase(q);
    return result;
  }
  Slot& slot = s->second;
  slot.loaded = true;
  slot.snapshot = not_found ? nullptr : result.value();
  slot.bytes = kSlotOverhead + lookup.schedule_id.size() +
               (slot.snapshot ? slot.snapshot->rows_json.size() : 0);
  slot.last_used = ++tick_;
  bytes_ += slot.bytes;
  EvictLocked();
  return result;
}

}  // namespace qs::store
