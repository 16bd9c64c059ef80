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
// service uses. Answers inline (on the caller's thread) unless told to hold
// the answers, which then wait for Release() as they would for Redis.
class FakeWindowCounter final : public ratelimit::WindowCounter {
 public:
  Result<int64_t> Increment(const std::string& bucket, int64_t window_start,
                            int64_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_[bucket];
    if (failing_) return Error::Unavailable("redis: connection refused");
    return ++counts_[{bucket, window_start}];
  }

  void IncrementAsync(const std::string& bucket, int64_t window_start,
                      int64_t window_seconds, CountCallback done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (hold_) {
        held_.push_back({bucket, window_start, std::move(done)});
        return;
      }
    }
    done(Increment(bucket, window_start, window_seconds));
  }

  void Hold(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
  }
  // Answers every held count, in order.
  void Release() {
    std::vector<Held> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    for (Held& h : held) h.done(Increment(h.bucket, h.window_start, 3600));
  }
  void Fail(bool failing) {
    std::lock_guard<std::mutex> lock(mu_);
    failing_ = failing;
  }
  // Counts sent for `bucket` (each one a Redis command in production).
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

 private:
  struct Held {
    std::string bucket;
    int64_t window_start;
    CountCallback done;
  };
  mutable std::mutex mu_;
  bool hold_ = false;
  bool failing_ = false;
  std::vector<Held> held_;
  std::map<std::string, int> calls_;
  std::map<std::pair<std::string, int64_t>, int64_t> counts_;
};

}  // namespace qs::testing
