#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>

#include "store/query_store.h"

namespace qs::testing {

// One query, "q1" (RUNNING unless told otherwise); counts reads; nothing is
// cached unless `cached` is set (then TryReadCached answers without I/O);
// can be told to fail.
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

  // What "q1" reads as from now on.
  void Set(store::SnapshotPtr snapshot) {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_ = std::move(snapshot);
  }
  // Every read answers `e` from now on; nullopt answers again.
  void FailWith(std::optional<Error> e) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(e);
  }

  std::atomic<int> reads{0};
  std::atomic<bool> cached{false};

 private:
  static store::SnapshotPtr Running() {
    auto s = std::make_shared<store::StatusSnapshot>();
    s->status = QueryStatusCode::kRunning;
    return s;
  }

  Result<store::SnapshotPtr> Find(const store::StatusLookup& lookup) {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_) return *fail_;
    if (lookup.schedule_id != "q1") {
      return Error::NotFound("query status not found");
    }
    return snapshot_;
  }

  std::mutex mu_;
  store::SnapshotPtr snapshot_ = Running();
  std::optional<Error> fail_;
};

}  // namespace qs::testing
