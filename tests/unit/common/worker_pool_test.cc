#include "common/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "metrics/metrics.h"

namespace qs {
namespace {

using std::chrono::milliseconds;

// Holds the pool's only worker until Open().
class Gate {
 public:
  std::function<void()> Task() {
    return [this] {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return open_; });
    };
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

struct Outcome {
  std::atomic<int> ran{0};
  std::atomic<int> dropped{0};
  // Waits (a bounded time) until `n` tasks ran or were dropped.
  bool WaitFor(int n) {
    const auto until = std::chrono::steady_clock::now() + milliseconds(5000);
    while (ran + dropped < n) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(milliseconds(1));
    }
    return true;
  }
  Task Make() {
    Task t;
    t.run = [this] { ++ran; };
    t.drop = [this] { ++dropped; };
    return t;
  }
};

// Waits (a bounded time) until the pool's worker has taken every task.
bool QueueDrains(metrics::Metrics& metrics) {
  const auto until = std::chrono::steady_clock::now() + milliseconds(5000);
  while (metrics.worker_queue_depth().Value() > 0) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

TEST(WorkerPoolTest, DropsATaskWhoseDeadlinePassedWhileQueued) {
  metrics::Metrics metrics;
  WorkerPool pool(1, 10, &metrics.worker_pool_observer());
  Gate gate;
  ASSERT_TRUE(pool.TrySubmit(gate.Task()));
  Outcome late, in_time;
  Task t = late.Make();
  t.deadline = std::chrono::steady_clock::now() + milliseconds(10);
  ASSERT_TRUE(pool.TrySubmit(std::move(t)));
  Task u = in_time.Make();
  u.deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  ASSERT_TRUE(pool.TrySubmit(std::move(u)));
  std::this_thread::sleep_for(milliseconds(30));
  gate.Open();
  ASSERT_TRUE(late.WaitFor(1));
  ASSERT_TRUE(in_time.WaitFor(1));
  EXPECT_EQ(late.ran, 0);
  EXPECT_EQ(late.dropped, 1);
  EXPECT_EQ(in_time.ran, 1);
  EXPECT_EQ(in_time.dropped, 0);
  EXPECT_EQ(metrics.WorkerTasksDropped(metrics::WorkerDrop::kDeadline).Value(),
            1);
}

TEST(WorkerPoolTest, DropsATaskWhoseClientHasGone) {
  metrics::Metrics metrics;
  WorkerPool pool(1, 10, &metrics.worker_pool_observer());
  Outcome gone, here;
  Task t = gone.Make();
  t.client_gone = [] { return true; };
  Task u = here.Make();
  u.client_gone = [] { return false; };
  ASSERT_TRUE(pool.TrySubmit(std::move(t)));
  ASSERT_TRUE(pool.TrySubmit(std::move(u)));
  ASSERT_TRUE(gone.WaitFor(1));
  ASSERT_TRUE(here.WaitFor(1));
  EXPECT_EQ(gone.ran, 0);
  EXPECT_EQ(gone.dropped, 1);
  EXPECT_EQ(here.ran, 1);
  EXPECT_EQ(
      metrics.WorkerTasksDropped(metrics::WorkerDrop::kClientGone).Value(), 1);
}

TEST(WorkerPoolTest, StopDropsWhatIsQueuedAndRefusesMore) {
  metrics::Metrics metrics;
  WorkerPool pool(1, 10, &metrics.worker_pool_observer());
  Gate gate;
  ASSERT_TRUE(pool.TrySubmit(gate.Task()));
  ASSERT_TRUE(QueueDrains(metrics));  // the worker holds the gate
  Outcome queued;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pool.TrySubmit(queued.Make()));
  EXPECT_EQ(metrics.worker_queue_depth().Value(), 5);
  std::thread stopper([&] { pool.Stop(); });
  // Stop waits for the running task, then drops the queued ones.
  std::this_thread::sleep_for(milliseconds(20));
  Outcome after;
  EXPECT_FALSE(pool.TrySubmit(after.Make()));
  gate.Open();
  stopper.join();
  EXPECT_EQ(queued.ran, 0);
  EXPECT_EQ(queued.dropped, 5);
  EXPECT_EQ(after.dropped, 0);
  EXPECT_EQ(metrics.worker_queue_depth().Value(), 0);
  EXPECT_EQ(metrics.WorkerTasksDropped(metrics::WorkerDrop::kStopped).Value(),
            5);
}

TEST(WorkerPoolTest, FullQueueRefusesAndNeitherRunsNorDrops) {
  metrics::Metrics metrics;
  WorkerPool pool(1, 2, &metrics.worker_pool_observer());
  Gate gate;
  ASSERT_TRUE(pool.TrySubmit(gate.Task()));
  ASSERT_TRUE(QueueDrains(metrics));  // the worker holds the gate
  Outcome o;
  ASSERT_TRUE(pool.TrySubmit(o.Make()));
  ASSERT_TRUE(pool.TrySubmit(o.Make()));
  EXPECT_TRUE(pool.Full());
  Outcome refused;
  EXPECT_FALSE(pool.TrySubmit(refused.Make()));
  gate.Open();
  ASSERT_TRUE(o.WaitFor(2));
  EXPECT_EQ(o.ran, 2);
  EXPECT_EQ(refused.ran + refused.dropped, 0);
}

}  // namespace
}  // namespace qs
