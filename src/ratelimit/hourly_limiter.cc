#include "ratelimit/hourly_limiter.h"

#include <algorithm>
#include <string>

#include "log/log.h"

namespace qs::ratelimit {
namespace {

int32_t Remaining(int32_t limit, int64_t count) {
  return static_cast<int32_t>(
      std::max<int64_t>(0, static_cast<int64_t>(limit) - count));
}

}  // namespace

HourlyLimiter::HourlyLimiter(WindowCounter& shared, const Clock& clock,
                             FailureMode mode, metrics::Metrics& metrics)
    : shared_(shared), clock_(clock), mode_(mode), metrics_(metrics) {}

Result<RateDecision> HourlyLimiter::Check(const std::string& scope,
                                          const std::string& bucket,
                                          int32_t limit) {
  const int64_t now = clock_.NowUnixSeconds();
  int64_t offset = now % kWindowSeconds;
  if (offset < 0) offset += kWindowSeconds;  // floor, for clocks before 1970
  const int64_t window_start = now - offset;

  RateDecision d;
  d.limit = limit;
  d.reset_seconds = window_start + kWindowSeconds - now;  // 1..3600

  Result<int64_t> shared_count =
      shared_.Increment(bucket, window_start, kWindowSeconds);
  int64_t count;
  if (shared_count.ok()) {
    count = shared_count.value();
  } else if (mode_ == FailureMode::kClosed) {
    metrics_.RateLimitDecision("fail_closed", scope).Increment();
    return Error::Unavailable("rate-limit counter failed: " +
                              shared_count.error().internal);
  } else {
    count = local_.Increment(bucket, window_start);
    d.failed_open = true;
    metrics_.RateLimitDecision("fail_open", scope).Increment();

    // Under an outage every request lands here: log once per interval, with
    // how many fail-open decisions the previous interval hid.
    unlogged_fail_opens_.fetch_add(1, std::memory_order_relaxed);
    const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               clock_.SteadyNow().time_since_epoch())
                               .count();
    int64_t next = next_fail_open_log_ns_.load(std::memory_order_relaxed);
    if (now_ns >= next &&
        next_fail_open_log_ns_.compare_exchange_strong(
            next,
            now_ns + std::chrono::duration_cast<std::chrono::nanoseconds>(
                         kFailOpenLogInterval)
                         .count(),
            std::memory_order_relaxed)) {
      const std::string decisions =
          std::to_string(unlogged_fail_opens_.exchange(0));
      log::Event(log::Level::kWarn, "ratelimit_fail_open",
                 {{"scope", scope},
                  {"decisions", decisions},
                  {"error", shared_count.error().internal}});
    }
  }

  d.allowed = count <= limit;
  d.remaining = Remaining(limit, count);
  // A fail-open decision is already counted as such; "limited" is added
  // when the local counter refuses, so refusals are never invisible.
  if (!d.allowed) {
    metrics_.RateLimitDecision("limited", scope).Increment();
  } else if (!d.failed_open) {
    metrics_.RateLimitDecision("allowed", scope).Increment();
  }
  return d;
}

}  // namespace qs::ratelimit
