#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/executor.h"

namespace qs {

// A fixed set of threads running tasks from a bounded queue. Request work
// that blocks on PostgreSQL or Redis runs here, never on the HTTP event loop.
class WorkerPool final : public Executor {
 public:
  WorkerPool(int threads, size_t max_queued);
  ~WorkerPool();  // finishes queued tasks, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full: the caller must answer the request itself.
  bool TrySubmit(std::function<void()> task) override;
  // True when a TrySubmit now would be refused.
  bool Full();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  size_t max_queued_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace qs
