#include "common/worker_pool.h"

#include <chrono>
#include <exception>
#include <utility>

namespace qs {

WorkerPool::WorkerPool(int threads, size_t max_queued,
                       WorkerPoolObserver* observer)
    : max_queued_(max_queued), observer_(observer) {
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  std::lock_guard<std::mutex> join_lock(join_mu_);
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool WorkerPool::TrySubmit(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(task));
    if (observer_) observer_->QueueDepthChanged(+1);
  }
  cv_.notify_one();
  return true;
}

bool WorkerPool::Full() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_ || queue_.size() >= max_queued_;
}

WorkerPool::Fate WorkerPool::Judge(const Task& task) const {
  if (task.deadline != std::chrono::steady_clock::time_point::max() &&
      std::chrono::steady_clock::now() >= task.deadline) {
    return Fate::kDeadline;
  }
  if (task.client_gone && task.client_gone()) return Fate::kClientGone;
  return Fate::kRun;
}

WorkerPoolObserver::Drop WorkerPool::DropReason(Fate fate) {
  switch (fate) {
    case Fate::kDeadline:
      return WorkerPoolObserver::Drop::kDeadline;
    case Fate::kClientGone:
      return WorkerPoolObserver::Drop::kClientGone;
    case Fate::kRun:
    case Fate::kStopped:
      break;
  }
  return WorkerPoolObserver::Drop::kStopped;
}

void WorkerPool::Run() {
  for (;;) {
    Task task;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
      if (observer_) observer_->QueueDepthChanged(-1);
      stopping = stopping_;
    }
    Fate fate = stopping ? Fate::kStopped : Judge(task);
    try {
      if (fate == Fate::kRun) {
        if (task.run) task.run();
      } else {
        if (observer_) observer_->TaskDropped(DropReason(fate));
        if (task.drop) task.drop();
      }
    } catch (...) {
      // A task's failure is its own; the worker goes on with the next one.
    }
  }
}

}  // namespace qs
