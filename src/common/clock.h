#pragma once

#include <chrono>
#include <cstdint>

namespace qs {

// Injected wherever time decides behaviour (rate-limit windows, key expiry,
// cache lifetimes), so tests can move time instead of sleeping.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock seconds since the Unix epoch.
  virtual int64_t NowUnixSeconds() const = 0;
  // Monotonic time for durations and cache ages.
  virtual std::chrono::steady_clock::time_point SteadyNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowUnixSeconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::now();
  }
};

}  // namespace qs
