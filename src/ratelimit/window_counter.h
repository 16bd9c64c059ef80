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
  // `window_start_unix` and lasts `window_seconds`, and answers the count
  // after the increment through `done`, without blocking the caller: exactly
  // once, on a thread the implementation names (its I/O thread, or the
  // caller's own, possibly before IncrementAsync returns). The count must
  // stay until the window has ended (and may then disappear). Must not throw;
  // a backend that does not answer within its timeout gives kUnavailable.
  // `done` must not block.
  using CountCallback = std::function<void(Result<int64_t>)>;
  virtual void IncrementAsync(const std::string& bucket,
                              int64_t window_start_unix, int64_t window_seconds,
                              CountCallback done) = 0;
  // The count of `bucket` in that window as it stands, without adding to it
  // (0 for a bucket not counted yet); answered as IncrementAsync answers.
  virtual void ReadAsync(const std::string& bucket, int64_t window_start_unix,
                         int64_t window_seconds, CountCallback done) = 0;
};

}  // namespace qs::ratelimit
