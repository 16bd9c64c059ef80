#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

namespace qs {

// Blocks until an asynchronous operation answers. `start` must arrange for
// the callback it is given to be called exactly once, on any thread
// (possibly before `start` returns). For tests and blocking callers of
// callback-based APIs; never call it on a thread the answer needs.
template <typename T>
T Await(const std::function<void(std::function<void(T)>)>& start) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<T> answer;
  start([&](T value) {
    std::lock_guard<std::mutex> lock(mu);
    answer = std::move(value);
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return answer.has_value(); });
  return std::move(*answer);
}

}  // namespace qs
