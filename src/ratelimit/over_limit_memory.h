#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace qs::ratelimit {

// Buckets known to be over their limit in a fixed window, so that their
// requests are refused from memory with no Redis command until the window
// ends. Exact: within a fixed window a bucket's shared count only grows, so
// once a count above the limit has been seen every later request of the
// window would be refused as well.
//
// Bounded: at most `max_entries` buckets are remembered. Entries of ended
// windows are swept (at most once per window, so the cost stays O(1)
// amortised); when the memory is full of the current window's buckets, a new
// one is simply not remembered (its requests cost a Redis command again),
// never at the expense of one already known. Thread-safe.
class OverLimitMemory {
 public:
  explicit OverLimitMemory(size_t max_entries);

  // Records that `bucket`'s shared count in the window that starts at
  // `window_start` reached `count`.
  void Remember(const std::string& bucket, int64_t window_start, int64_t count);
  // Whether `bucket` is known to be over `limit` in the window that starts at
  // `window_start` (a later limit higher than the count seen is not).
  bool KnownOver(const std::string& bucket, int64_t window_start,
                 int64_t limit) const;
  size_t size() const;

 private:
  struct Entry {
    int64_t window_start;
    int64_t count;
  };
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> entries;  // guarded by mu
    int64_t swept_window = INT64_MIN;                // guarded by mu
  };
  Shard& ShardOf(const std::string& bucket) const;

  const size_t max_per_shard_;
  mutable Shard shards_[kShards];
};

}  // namespace qs::ratelimit
