// For tests that want one count's answer before going on: production never
// waits on a count (its callbacks finish the request), a test may.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include "common/status.h"
#include "ratelimit/window_counter.h"

namespace qs::testing {

// Sends one count through `counter`'s asynchronous interface and blocks
// until it answers, at most `timeout`; a count that has not answered by then
// is an Internal error naming the wait (the counter must answer every count
// within its own timeout, so that is a failure of the counter). The answer
// may come on any thread, also after the wait gave up.
// `read`: a ReadAsync (the count as it stands) instead of a count.
inline Result<int64_t> CountAndWait(
    ratelimit::WindowCounter& counter, const std::string& bucket,
    int64_t window_start_unix, int64_t window_seconds,
    std::chrono::milliseconds timeout = std::chrono::seconds(10),
    bool read = false) {
  auto answer = std::make_shared<std::promise<Result<int64_t>>>();
  std::future<Result<int64_t>> future = answer->get_future();
  auto done = [answer](Result<int64_t> r) { answer->set_value(std::move(r)); };
  if (read) {
    counter.ReadAsync(bucket, window_start_unix, window_seconds, done);
  } else {
    counter.IncrementAsync(bucket, window_start_unix, window_seconds, done);
  }
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Error::Internal("the count did not answer within " +
                           std::to_string(timeout.count()) + " ms");
  }
  return future.get();
}

}  // namespace qs::testing
