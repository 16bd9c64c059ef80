#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace qs::ratelimit {

// A per-instance fixed-window counter: the fallback when the shared counter
// (Redis) does not answer. Counts only this instance's requests, so with N
// instances a key may get up to N times its limit while Redis is down.
//
// Memory is bounded: only the newest window and the one before it are kept
// (a request that started just before a boundary may still arrive), and at
// most `max_buckets` buckets are held in all. When full, older windows are
// dropped first, then the current one is cleared, which forgets counts (a
// fail-open counter errs towards allowing).
//
// Thread-safe.
class LocalWindowCounter {
 public:
  static constexpr size_t kDefaultMaxBuckets = 100000;

  explicit LocalWindowCounter(size_t max_buckets = kDefaultMaxBuckets);

  // Adds one to `bucket` in the window starting at `window_start_unix` and
  // returns the count after the increment (>= 1).
  int64_t Increment(const std::string& bucket, int64_t window_start_unix);
  // The count of `bucket` in that window, without adding to it (0 when it
  // has none).
  int64_t Read(const std::string& bucket, int64_t window_start_unix) const;

  // Buckets held now, over all windows kept. For tests and metrics.
  size_t size() const;

 private:
  using Window = std::unordered_map<std::string, int64_t>;

  // Keeps only the two newest windows. Requires mu_.
  void DropOldWindowsLocked();

  const size_t max_buckets_;
  mutable std::mutex mu_;
  std::map<int64_t, Window> windows_;  // by window start, ascending
  size_t total_ = 0;                   // buckets over all windows_
};

}  // namespace qs::ratelimit
