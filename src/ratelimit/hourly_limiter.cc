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
                             FailureMode mode, metrics::Metrics& metrics,
                             HourlyLimiterOptions options)
    : shared_(shared),
      clock_(clock),
      mode_(mode),
      metrics_(metrics),
      over_limit_(options.remembered_buckets) {}

HourlyLimiter::Window HourlyLimiter::CurrentWindow() const {
  const int64_t now = clock_.NowUnixSeconds();
  int64_t offset = now % kWindowSeconds;
  if (offset < 0) offset += kWindowSeconds;  // floor, for clocks before 1970
  return {now, now - offset};
}

std::optional<RateDecision> HourlyLimiter::RememberedDenial(
    metrics::RateScope scope, const std::string& bucket, int32_t limit) {
  Window w = CurrentWindow();
  if (!over_limit_.KnownOver(bucket, w.start, limit)) return std::nullopt;
  RateDecision d;
  d.allowed = false;
  d.limit = limit;
  d.remaining = 0;
  d.reset_seconds = w.start + kWindowSeconds - w.now;
  DecisionCounter(metrics::Decision::kLimited, scope).Increment();
  auto& counter = remembered_[static_cast<int>(scope)];
  if (!counter) counter = &metrics_.RateLimitRemembered(scope);
  counter.load()->Increment();
  return d;
}

void HourlyLimiter::CheckAsync(metrics::RateScope scope,
                               const std::string& bucket, int32_t limit,
                               DecisionCallback done) {
  Ask(scope, bucket, limit, /*peek=*/false, std::move(done));
}

void HourlyLimiter::PeekAsync(metrics::RateScope scope,
                              const std::string& bucket, int32_t limit,
                              DecisionCallback done) {
  Ask(scope, bucket, limit, /*peek=*/true, std::move(done));
}

void HourlyLimiter::Ask(metrics::RateScope scope, const std::string& bucket,
                        int32_t limit, bool peek, DecisionCallback done) {
  if (auto denied = RememberedDenial(scope, bucket, limit)) {
    return done(*denied);
  }
  Window w = CurrentWindow();
  auto decide = [this, scope, bucket, limit, w, peek,
                 done = std::move(done)](Result<int64_t> count) {
    done(Decide(scope, bucket, limit, w, count, peek));
  };
  if (peek) {
    shared_.ReadAsync(bucket, w.start, kWindowSeconds, std::move(decide));
  } else {
    shared_.IncrementAsync(bucket, w.start, kWindowSeconds, std::move(decide));
  }
}

prometheus::Counter& HourlyLimiter::DecisionCounter(metrics::Decision decision,
                                                    metrics::RateScope scope) {
  // Resolved once per (decision, scope): Family::Add locks and hashes.
  auto& counter =
      counters_[static_cast<int>(decision)][static_cast<int>(scope)];
  if (!counter) counter = &metrics_.RateLimitDecision(decision, scope);
  return *counter.load();
}

Result<RateDecision> HourlyLimiter::Decide(metrics::RateScope scope,
                                           const std::string& bucket,
                                           int32_t limit, Window w,
                                           const Result<int64_t>& shared_count,
                                           bool peek) {
  const int64_t now = w.now;
  const int64_t window_start = w.start;

  RateDecision d;
  d.limit = limit;
  d.reset_seconds = window_start + kWindowSeconds - now;  // 1..3600

  int64_t count;
  if (shared_count.ok()) {
    count = shared_count.value();
    if (count > limit) over_limit_.Remember(bucket, window_start, count);
  } else if (mode_ == FailureMode::kClosed) {
    DecisionCounter(metrics::Decision::kFailClosed, scope).Increment();
    return Error::Unavailable("rate-limit counter failed: " +
                              shared_count.error().internal);
  } else {
    count = peek ? local_.Read(bucket, window_start)
                 : local_.Increment(bucket, window_start);
    d.failed_open = true;
    DecisionCounter(metrics::Decision::kFailOpen, scope).Increment();

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
                 {{"scope", metrics::LabelValue(scope)},
                  {"decisions", decisions},
                  {"error", shared_count.error().internal}});
    }
  }

  // A count includes this request; a read does not, so it allows only
  // while a request is left.
  d.allowed = peek ? count < limit : count <= limit;
  d.remaining = Remaining(limit, count);
  // A fail-open decision is already counted as such; "limited" is added
  // when the local counter refuses, so refusals are never invisible.
  if (!d.allowed) {
    DecisionCounter(metrics::Decision::kLimited, scope).Increment();
  } else if (!d.failed_open) {
    DecisionCounter(metrics::Decision::kAllowed, scope).Increment();
  }
  return d;
}

}  // namespace qs::ratelimit
