#include "ratelimit/over_limit_memory.h"

#include <algorithm>
#include <functional>

namespace qs::ratelimit {

OverLimitMemory::OverLimitMemory(size_t max_entries)
    : max_per_shard_(
          max_entries == 0 ? 0 : std::max<size_t>(1, max_entries / kShards)) {}

OverLimitMemory::Shard& OverLimitMemory::ShardOf(
    const std::string& bucket) const {
  return shards_[std::hash<std::string>()(bucket) % kShards];
}

void OverLimitMemory::Remember(const std::string& bucket, int64_t window_start,
                               int64_t count) {
  if (max_per_shard_ == 0) return;
  Shard& s = ShardOf(bucket);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.entries.find(bucket);
  if (it != s.entries.end()) {
    if (window_start > it->second.window_start ||
        (window_start == it->second.window_start && count > it->second.count)) {
      it->second = Entry{window_start, count};
    }
    return;
  }
  if (s.entries.size() >= max_per_shard_ && s.swept_window < window_start) {
    // Once per window: what ended windows left behind.
    s.swept_window = window_start;
    for (auto e = s.entries.begin(); e != s.entries.end();) {
      e = e->second.window_start < window_start ? s.entries.erase(e)
                                                : std::next(e);
    }
  }
  if (s.entries.size() >= max_per_shard_) return;  // full of live entries
  s.entries.emplace(bucket, Entry{window_start, count});
}

bool OverLimitMemory::KnownOver(const std::string& bucket, int64_t window_start,
                                int64_t limit) const {
  if (max_per_shard_ == 0) return false;
  Shard& s = ShardOf(bucket);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.entries.find(bucket);
  return it != s.entries.end() && it->second.window_start == window_start &&
         it->second.count > limit;
}

size_t OverLimitMemory::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.entries.size();
  }
  return n;
}

}  // namespace qs::ratelimit
