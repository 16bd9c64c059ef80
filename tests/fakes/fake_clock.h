#pragma once

#include <chrono>
#include <cstdint>

#include "common/clock.h"

namespace qs::testing {

// A clock that moves only when told to; wall and steady time move together
// unless SetUnix jumps the wall clock alone.
class FakeClock final : public Clock {
 public:
  int64_t NowUnixSeconds() const override { return unix_; }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return steady_;
  }

  // Moves both clocks to wall time `unix`.
  void Set(int64_t unix) {
    steady_ += std::chrono::seconds(unix - unix_);
    unix_ = unix;
  }
  void Advance(int64_t seconds) { Set(unix_ + seconds); }
  void Advance(std::chrono::milliseconds d) {
    steady_ += d;
    sub_second_ += d;
    auto whole = std::chrono::duration_cast<std::chrono::seconds>(sub_second_);
    unix_ += whole.count();
    sub_second_ -= whole;
  }
  // Sets the wall clock only (steady time is unaffected).
  void SetUnix(int64_t s) { unix_ = s; }

 private:
  int64_t unix_ = 1700000000;
  std::chrono::milliseconds sub_second_{0};
  std::chrono::steady_clock::time_point steady_{std::chrono::hours(1000)};
};

}  // namespace qs::testing
