#include "ratelimit/local_window_counter.h"

#include <algorithm>

namespace qs::ratelimit {

LocalWindowCounter::LocalWindowCounter(size_t max_buckets)
    : max_buckets_(std::max<size_t>(max_buckets, 1)) {}

int64_t LocalWindowCounter::Increment(const std::string& bucket,
                                      int64_t window_start_unix) {
  std::lock_guard<std::mutex> lock(mu_);
  auto window_it = windows_.find(window_start_unix);
  if (window_it != windows_.end()) {
    auto it = window_it->second.find(bucket);
    if (it != window_it->second.end()) return ++it->second;
  }

  // A new bucket: make room first. Every clear below is preceded by at least
  // as many inserts as it removes, so the cost stays O(1) amortised.
  if (total_ >= max_buckets_) {
    // Everything but the newest window is expendable.
    while (windows_.size() > 1 &&
           windows_.begin()->first != window_start_unix) {
      total_ -= windows_.begin()->second.size();
      windows_.erase(windows_.begin());
    }
    if (total_ >= max_buckets_) {
      windows_.clear();
      total_ = 0;
    }
    window_it = windows_.find(window_start_unix);
  }
  if (window_it == windows_.end()) {
    if (windows_.size() >= 2 && window_start_unix < windows_.begin()->first) {
      // Older than both windows kept: a window long over, nothing to count
      // against.
      return 1;
    }
    window_it = windows_.emplace(window_start_unix, Window{}).first;
    DropOldWindowsLocked();  // never the new window: it is not the oldest
  }
  window_it->second.emplace(bucket, 1);
  ++total_;
  return 1;
}

int64_t LocalWindowCounter::Read(const std::string& bucket,
                                 int64_t window_start_unix) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto window_it = windows_.find(window_start_unix);
  if (window_it == windows_.end()) return 0;
  auto it = window_it->second.find(bucket);
  return it == window_it->second.end() ? 0 : it->second;
}

size_t LocalWindowCounter::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

void LocalWindowCounter::DropOldWindowsLocked() {
  while (windows_.size() > 2) {
    total_ -= windows_.begin()->second.size();
    windows_.erase(windows_.begin());
  }
}

}  // namespace qs::ratelimit
