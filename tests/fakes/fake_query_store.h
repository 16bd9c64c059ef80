#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "store/query_store.h"

namespace qs::testing {

// The query "q1" of every license (RUNNING unless told otherwise) and the
// queries put for one license; counts reads; nothing is cached unless
// `cached` is set (then TryReadCached answers without I/O); can be told to
// fail, or to run something inside a read.
class FakeQueryStore final : public store::QueryStore {
 public:
  Result<store::SnapshotPtr> ReadStatus(
      const store::StatusLookup& lookup) override {
    ++reads;
    std::function<void()> during_read;
    {
      std::lock_guard<std::mutex> lock(mu_);
      during_read = during_read_;
    }
    if (during_read) during_read();
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
  // What `schedule_id` reads as for `license_id` from now on (for that
  // license, this comes before what Set gave "q1").
  void Put(const std::string& schedule_id, int64_t license_id,
           store::StatusSnapshot snapshot) {
    std::lock_guard<std::mutex> lock(mu_);
    queries_[{schedule_id, license_id}] = std::move(snapshot);
  }
  // Every read answers `e` from now on; nullopt answers again.
  void FailWith(std::optional<Error> e) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(e);
  }

  // Runs inside every read from now on, before it answers (to interleave,
  // say, an invalidation with the read); may call DuringRead itself.
  void DuringRead(std::function<void()> f) {
    std::lock_guard<std::mutex> lock(mu_);
    during_read_ = std::move(f);
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
    auto it = queries_.find({lookup.schedule_id, lookup.license_id});
    if (it != queries_.end()) {
      return store::SnapshotPtr(
          std::make_shared<store::StatusSnapshot>(it->second));
    }
    if (lookup.schedule_id != "q1") {
      return Error::NotFound("query status not found");
    }
    return snapshot_;
  }

  std::mutex mu_;
  store::SnapshotPtr snapshot_ = Running();
  std::map<std::pair<std::string, int64_t>, store::StatusSnapshot> queries_;
  std::optional<Error> fail_;
  std::function<void()> during_read_;
};

}  // namespace qs::testing
