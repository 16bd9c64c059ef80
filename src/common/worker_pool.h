#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "common/executor.h"

namespace qs {

// What a WorkerPool reports as it goes (the metrics module exports it). Called
// with the pool's lock held or on a worker thread: must not block.
class WorkerPoolObserver {
 public:
  enum class Drop { kDeadline, kClientGone, kStopped };
  virtual ~WorkerPoolObserver() = default;
  virtual void QueueDepthChanged(int delta) = 0;
  virtual void TaskDropped(Drop why) = 0;
};

// A fixed set of threads running tasks from a bounded queue. Request work
// that blocks on PostgreSQL runs here, never on the HTTP event loop.
//
// A task whose deadline has passed, or whose client is gone, when a worker
// picks it up is dropped (its `drop` runs instead of `run`, on that worker)
// and counted in querystatus_worker_tasks_dropped_total. The queue depth is
// exported as querystatus_worker_queue_depth.
class WorkerPool final : public Executor {
 public:
  // `observer` may be null (then nothing is reported); it must outlive the
  // pool.
  WorkerPool(int threads, size_t max_queued,
             WorkerPoolObserver* observer = nullptr);
  // Stop(), if it was not called.
  ~WorkerPool() override;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  using Executor::TrySubmit;
  // False when the queue is full or the pool is stopped: the caller must
  // answer the request itself.
  bool TrySubmit(Task task) override;
  // True when a TrySubmit now would be refused.
  bool Full();

  // Stops accepting, drops every queued task (each one's `drop` runs, on a
  // worker thread), lets the tasks already running finish, and joins the
  // workers. Idempotent. Call it before destroying whatever the tasks'
  // callbacks use.
  void Stop();

 private:
  enum class Fate { kRun, kDeadline, kClientGone, kStopped };
  void Run();
  Fate Judge(const Task& task) const;
  static WorkerPoolObserver::Drop DropReason(Fate fate);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;  // guarded by mu_
  size_t max_queued_;
  bool stopping_ = false;  // guarded by mu_
  std::mutex join_mu_;     // serialises Stop()'s joins
  std::vector<std::thread> threads_;

  WorkerPoolObserver* observer_;
};

}  // namespace qs
