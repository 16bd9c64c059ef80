#pragma once

#include <chrono>
#include <functional>

namespace qs {

// A unit of work for an Executor, with what decides whether it is still
// worth running when a thread gets to it.
struct Task {
  // The work. Runs on an executor thread; may block (that is what the
  // executor is for).
  std::function<void()> run;
  // Runs instead of `run` when the task is dropped: its deadline passed or
  // its client went away before a thread picked it up, or the executor was
  // stopped with the task still queued. It must answer whoever waits for
  // the work (typically with kUnavailable) and must not block. Null: the
  // task is dropped silently.
  std::function<void()> drop;
  // Past this instant the work is not started.
  std::chrono::steady_clock::time_point deadline =
      std::chrono::steady_clock::time_point::max();
  // True once nobody waits for the result any more. Null: never. Called on
  // an executor thread; must be cheap and must not block.
  std::function<bool()> client_gone;
};

// Somewhere to run work that may block (a PostgreSQL read), off the threads
// that must not block (the HTTP event loop, the Redis pipeline).
class Executor {
 public:
  virtual ~Executor() = default;
  // False when the work cannot be taken (queue full, shutting down): the
  // caller must answer for it, and neither `run` nor `drop` is ever called.
  // True: exactly one of `run` and `drop` will be called, on an executor
  // thread, never on the caller's stack.
  virtual bool TrySubmit(Task task) = 0;

  // A task with no deadline, no gone-client check and a silent drop.
  bool TrySubmit(std::function<void()> run) {
    Task task;
    task.run = std::move(run);
    return TrySubmit(std::move(task));
  }
};

}  // namespace qs
