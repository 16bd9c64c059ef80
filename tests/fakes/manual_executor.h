#pragma once

#include <deque>
#include <mutex>
#include <utility>

#include "common/executor.h"

namespace qs::testing {

// An executor whose tasks run only when the test says so, on the test's
// thread: what was handed off (and with which deadline) can be inspected
// first.
class ManualExecutor final : public Executor {
 public:
  using Executor::TrySubmit;
  bool TrySubmit(Task task) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (refuse_) return false;
    tasks_.push_back(std::move(task));
    return true;
  }
  size_t queued() {
    std::lock_guard<std::mutex> lock(mu_);
    return tasks_.size();
  }
  const Task& front() {
    std::lock_guard<std::mutex> lock(mu_);
    return tasks_.front();
  }
  // Runs the oldest queued task; false when there was none.
  bool RunOne() {
    Task t;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (tasks_.empty()) return false;
      t = std::move(tasks_.front());
      tasks_.pop_front();
    }
    t.run();
    return true;
  }
  // Runs every queued task (and any they queue) to the end.
  void RunAll() {
    while (RunOne()) {
    }
  }
  void Refuse(bool refuse) {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_ = refuse;
  }

 private:
  std::mutex mu_;
  std::deque<Task> tasks_;
  bool refuse_ = false;
};

}  // namespace qs::testing
