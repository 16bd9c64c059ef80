#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ratelimit/window_counter.h"

namespace qs::testing {

// The shared counter, in memory, through the asynchronous interface the
// service uses. Answers inline (on the caller's thread, before IncrementAsync
// returns) unless told to hold the answers, which then wait for Release() as
// they would for Redis. A held count is counted when it is released, so the
// order of the releases is the order of the totals.
class FakeWindowCounter final : public ratelimit::WindowCounter {
 public:
  void IncrementAsync(const std::string& bucket, int64_t window_start,
                      int64_t window_seconds, CountCallback done) override {
    Send(bucket, window_start, window_seconds, 1, std::move(done));
  }
  void ReadAsync(const std::string& bucket, int64_t window_start,
                 int64_t window_seconds, CountCallback done) override {
    Send(bucket, window_start, window_seconds, 0, std::move(done));
  }

  void Hold(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
  }
  // Answers the oldest held count; false when none was held.
  bool ReleaseOne() {
    Held h;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (held_.empty()) return false;
      h = std::move(held_.front());
      held_.erase(held_.begin());
    }
    h.done(Count(h.bucket, h.window_start, h.add));
    return true;
  }
  // Answers every held count, in order.
  void Release() {
    while (ReleaseOne()) {
    }
  }
  // Counts from now on answer kUnavailable, as Redis down would (held ones
  // included, when they are released).
  void Fail(bool failing) {
    std::lock_guard<std::mutex> lock(mu_);
    failing_ = failing;
  }

  // Counts and reads sent for `bucket` (each one a Redis command in
  // production).
  int calls(const std::string& bucket) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(bucket);
    return it == calls_.end() ? 0 : it->second;
  }
  int total_calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& [bucket, c] : calls_) n += c;
    return n;
  }
  size_t held() const {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  // The window of the latest count sent; -1 before any.
  int64_t last_window_start() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_window_start_;
  }
  int64_t last_window_seconds() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_window_seconds_;
  }

 private:
  struct Held {
    std::string bucket;
    int64_t window_start = 0;
    int64_t add = 1;
    CountCallback done;
  };

  // A count (add 1) or a read (add 0), each one command in production.
  void Send(const std::string& bucket, int64_t window_start,
            int64_t window_seconds, int64_t add, CountCallback done) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_[bucket];
      last_window_start_ = window_start;
      last_window_seconds_ = window_seconds;
      if (hold_) {
        held_.push_back({bucket, window_start, add, std::move(done)});
        return;
      }
    }
    done(Count(bucket, window_start, add));
  }

  Result<int64_t> Count(const std::string& bucket, int64_t window_start,
                        int64_t add) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failing_) return Error::Unavailable("redis: connection refused");
    return counts_[{bucket, window_start}] += add;
  }

  mutable std::mutex mu_;
  bool hold_ = false;
  bool failing_ = false;
  std::vector<Held> held_;
  std::map<std::string, int> calls_;
  std::map<std::pair<std::string, int64_t>, int64_t> counts_;
  int64_t last_window_start_ = -1;
  int64_t last_window_seconds_ = -1;
};

}  // namespace qs::testing
