#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/failure_mode.h"
#include "common/status.h"
#include "metrics/metrics.h"
#include "ratelimit/local_window_counter.h"
#include "ratelimit/over_limit_memory.h"
#include "ratelimit/window_counter.h"

namespace qs::ratelimit {

struct RateDecision {
  bool allowed = true;
  int32_t limit = 0;
  int32_t remaining = 0;      // never below 0
  int64_t reset_seconds = 0;  // whole seconds until the window ends, >= 1
  bool failed_open = false;   // counted locally because Redis failed
};

struct HourlyLimiterOptions {
  // Buckets remembered as over their limit (see OverLimitMemory); 0 turns
  // the memory off.
  size_t remembered_buckets = 100000;
};

// Hourly fixed-window limiter. A request is allowed while the count of its
// bucket in the current window is <= limit, so with any number of instances
// sharing one Redis exactly `limit` requests of a window are allowed.
//
// A bucket whose shared count has been seen over its limit in the current
// window is refused from memory (remaining 0, the reset of the window) with
// no Redis command until the window ends; see OverLimitMemory for why that
// stays exact. Counts made by the local fail-open counter are never
// remembered: they are this instance's alone.
class HourlyLimiter {
 public:
  static constexpr int64_t kWindowSeconds = 3600;

  // `mode` applies when `shared` (Redis) does not answer: kOpen keeps
  // serving, counted by a per-instance local counter; kClosed refuses (the
  // caller answers 500).
  HourlyLimiter(WindowCounter& shared, const Clock& clock, FailureMode mode,
                metrics::Metrics& metrics, HourlyLimiterOptions options = {});

  // `scope` labels the metrics; `bucket` names the
  // counted subject, e.g. "k:42" or "a:203.0.113.9". Counts this request and
  // answers through `done` without blocking the caller on Redis: on the
  // counter's thread (see WindowCounter::IncrementAsync), or on the caller's
  // thread before CheckAsync returns when the answer is known without Redis
  // (a remembered denial, a refused count). The window is the one current
  // when CheckAsync is called, however late the count answers. Answers
  // kUnavailable only in fail-closed mode when Redis fails. `done` must not
  // block.
  using DecisionCallback = std::function<void(Result<RateDecision>)>;
  void CheckAsync(metrics::RateScope scope, const std::string& bucket,
                  int32_t limit, DecisionCallback done);

  // The budget of `bucket` as it stands, without counting this request (a
  // conditional request answered 304 is free): allowed while the count is
  // below `limit`, so a spent budget (remaining 0) is a refusal. Answers as
  // CheckAsync does, from memory for a bucket remembered over its limit,
  // else after one read of the shared counter; when that fails, fail-open
  // reads the local counter and fail-closed answers kUnavailable.
  void PeekAsync(metrics::RateScope scope, const std::string& bucket,
                 int32_t limit, DecisionCallback done);

  // The denial of a bucket already known to be over `limit` in the current
  // window, decided from memory (no I/O, counted as "limited" like any other
  // refusal); nullopt when only the shared counter can tell. Does not count
  // the request otherwise.
  std::optional<RateDecision> RememberedDenial(metrics::RateScope scope,
                                               const std::string& bucket,
                                               int32_t limit);

 private:
  struct Window {
    int64_t now;
    int64_t start;
  };
  Window CurrentWindow() const;
  // CheckAsync (a count) or PeekAsync (`peek`: a read).
  void Ask(metrics::RateScope scope, const std::string& bucket, int32_t limit,
           bool peek, DecisionCallback done);
  // `peek`: the count is the shared counter's read, not this request's.
  Result<RateDecision> Decide(metrics::RateScope scope,
                              const std::string& bucket, int32_t limit,
                              Window w, const Result<int64_t>& shared_count,
                              bool peek);
  // The counter of `decision` in `scope`.
  prometheus::Counter& DecisionCounter(metrics::Decision decision,
                                       metrics::RateScope scope);

  WindowCounter& shared_;
  const Clock& clock_;
  FailureMode mode_;
  metrics::Metrics& metrics_;
  LocalWindowCounter local_;
  OverLimitMemory over_limit_;

  // The fail-open log line is rate-limited (the metric is not): steady-clock
  // nanoseconds before which no further line is written, and how many
  // fail-open decisions went unlogged since the last line.
  static constexpr std::chrono::seconds kFailOpenLogInterval{10};
  std::atomic<int64_t> next_fail_open_log_ns_{INT64_MIN};
  std::atomic<int64_t> unlogged_fail_opens_{0};
  // [decision][scope] children, filled on first use; pointers to children
  // are stable and a racing double fill stores the same pointer.
  std::atomic<prometheus::Counter*> counters_[4][2] = {};
  std::atomic<prometheus::Counter*> remembered_[2] = {};  // [scope]
};

}  // namespace qs::ratelimit
