#pragma once

#include <atomic>
#include <memory>

#include "store/query_store.h"

namespace qs::testing {

// One RUNNING query, "q1"; counts reads; nothing is cached unless
// `cached` is set (then TryReadCached answers without I/O).
class FakeQueryStore final : public store::QueryStore {
 public:
  Result<store::SnapshotPtr> ReadStatus(
      const store::StatusLookup& lookup) override {
    ++reads;
    return Find(lookup);
  }
  std::optional<Result<store::SnapshotPtr>> TryReadCached(
      const store::StatusLookup& lookup) override {
    if (!cached) return std::nullopt;
    return Find(lookup);
  }

  std::atomic<int> reads{0};
  std::atomic<bool> cached{false};

 private:
  static Result<store::SnapshotPtr> Find(const store::StatusLookup& lookup) {
    if (lookup.schedule_id != "q1") {
      return Error::NotFound("query status not found");
    }
    auto s = std::make_shared<store::StatusSnapshot>();
    s->status = QueryStatusCode::kRunning;
    return store::SnapshotPtr(s);
  }
};

}  // namespace qs::testing
