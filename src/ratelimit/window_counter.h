#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace qs::ratelimit {

// A fixed-window request counter shared by every instance of the service.
class WindowCounter {
 public:
  virtual ~WindowCounter() = default;
  // Atomically adds one to the count of `bucket` in the window that starts at
  // `window_start_unix` and lasts `window_seconds`, and returns the count
  // after the increment. The count must stay until the window has ended (and
  // may then disappear). Must not throw; a backend that does not answer
  // within its timeout gives kUnavailable.
  virtual Result<int64_t> Increment(const std::string& bucket,
                                    int64_t window_start_unix,
                                    int64_t window_seconds) = 0;

  // The same, answering through `done` instead of blocking the caller:
  // exactly once, on a thread the implementation names (its I/O thread, or
  // the caller's own, possibly before IncrementAsync returns). `done` must
  // not block. The default calls Increment inline.
  using CountCallback = std::function<void(Result<int64_t>)>;
  virtual void IncrementAsync(const std::string& bucket,
                              int64_t window_start_unix, int64_t window_seconds,
                              CountCallback done) {
    done(Increment(bucket, window_start_unix, window_seconds));
  }
};

}  // namespace qs::ratelimit
