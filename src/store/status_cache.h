#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>

#include "common/clock.h"
#include "metrics/metrics.h"
#include "store/query_store.h"

namespace qs::store {

// A per-instance cache of status reads in front of the database, kept
// correct by change notifications (PostgreSQL NOTIFY from triggers, see
// migrations/0002 and PgListener):
//  - "q:<schedule_id>" drops everything cached for that query;
//  - "l:<license_id>" drops everything cached for that license (its queue
//    counts or retention changed).
// It is used only while the feed is live (a notification or heartbeat was
// seen within `freshness`); otherwise every read goes to the database, so a
// dead listener can never serve stale data. A read that raced with an
// invalidation is not cached (each slot carries a token that invalidation
// removes). Bounded by `max_bytes`; the least recently used entries go
// first. Thread-safe; no lock is held during database reads.
class CachingQueryStore final : public QueryStore {
 public:
  struct Options {
    size_t max_bytes = 64 << 20;
    std::chrono::milliseconds freshness{750};
  };

  CachingQueryStore(QueryStore& backend, const Clock& clock,
                    metrics::Metrics& metrics, Options options);

  Result<SnapshotPtr> ReadStatus(const StatusLookup& lookup) override;
  std::optional<Result<SnapshotPtr>> TryReadCached(
      const StatusLookup& lookup) override;

  // The invalidation feed. `Invalidate` takes a notification payload.
  void Invalidate(const std::string& payload);
  // The feed is live as of now (a heartbeat succeeded). The first call after
  // SetDisconnected starts from an empty cache: notifications may have been
  // missed in between.
  void MarkLive();
  void SetDisconnected();

  size_t bytes() const;

 private:
  struct Slot {
    uint64_t token = 0;
    bool loaded = false;
    SnapshotPtr snapshot;  // null when loaded: the query was not found
    size_t bytes = 0;
    uint64_t last_used = 0;
  };
  // license, first row, last row
  using PageKey = std::tuple<int64_t, int64_t, int64_t>;
  using QuerySlots = std::map<PageKey, Slot>;

  bool Live() const;
  // The cached answer of a slot, if it is loaded and still visible; counts
  // the hit. Caller holds mu_.
  std::optional<Result<SnapshotPtr>> HitLocked(Slot& slot);
  void EraseLocked(QuerySlots& slots);
  void EvictLocked();

  QueryStore& backend_;
  const Clock& clock_;
  Options options_;
  prometheus::Counter& hits_;
  prometheus::Counter& misses_;
  prometheus::Counter& bypasses_;
  prometheus::Counter& invalidations_;

  std::atomic<int64_t> live_until_ns_{0};  // steady clock
  std::atomic<bool> connected_{false};

  mutable std::mutex mu_;
  std::unordered_map<std::string, QuerySlots> slots_;  // by schedule id
  size_t bytes_ = 0;
  uint64_t next_token_ = 1;
  uint64_t tick_ = 0;
};

}  // namespace qs::store
