// The Redis counter's bounds against a server that accepts connections and
// never answers (a stalled or paused Redis), on an ephemeral loopback port:
// every count is decided within the Redis timeout, the queue stays bounded,
// and shutdown answers or discards what is queued without calling into
// objects that may be gone.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ratelimit/redis_window_counter.h"
#include "support/raw_connection.h"

namespace qs::ratelimit {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Listens on 127.0.0.1 and never reads or writes: connections complete in
// the kernel's backlog, and every command waits for its timeout.
class SilentServer {
 public:
  SilentServer() { fd_ = qs::testing::ListenLoopback(64, &port_); }
  ~SilentServer() {
    if (fd_ >= 0) close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class RedisCounterBoundsTest : public ::testing::Test {
 protected:
  RedisOptions Options(milliseconds timeout, size_t max_queued) {
    RedisOptions o;
    o.host = "127.0.0.1";
    o.port = server_.port();
    o.connect_timeout = timeout;
    o.command_timeout = timeout;
    o.max_queued = max_queued;
    return o;
  }

  SilentServer server_;
  metrics::Metrics metrics_;
};

TEST_F(RedisCounterBoundsTest, StalledRedisDecidesEveryCountWithinTheTimeout) {
  constexpr milliseconds kTimeout(100);
  constexpr size_t kMaxQueued = 64;
  RedisWindowCounter counter(Options(kTimeout, kMaxQueued), metrics_);

  std::atomic<int64_t> worst_us{0};
  std::atomic<int> answered{0}, ok{0}, sent{0};
  std::atomic<double> deepest{0};
  std::atomic<bool> stop{false};
  std::thread sampler([&] {
    while (!stop) {
      double d = metrics_.redis_queue_depth().Value();
      if (d > deepest) deepest = d;
      std::this_thread::sleep_for(milliseconds(1));
    }
  });
  std::vector<std::thread> senders;
  const auto until = steady_clock::now() + milliseconds(700);
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      while (steady_clock::now() < until) {
        const auto start = steady_clock::now();
        ++sent;
        counter.IncrementAsync(
            "b:" + std::to_string(t), 0, 3600, [&, start](Result<int64_t> r) {
              int64_t us =
                  std::chrono::duration_cast<std::chrono::microseconds>(
                      steady_clock::now() - start)
                      .count();
              int64_t prev = worst_us.load();
              while (us > prev && !worst_us.compare_exchange_weak(prev, us)) {
              }
              if (r.ok()) ++ok;
              ++answered;
            });
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }
  for (auto& s : senders) s.join();
  // Whatever is still queued is answered within one more timeout.
  std::this_thread::sleep_for(kTimeout + milliseconds(100));
  stop = true;
  sampler.join();

  EXPECT_EQ(answered.load(), sent.load());
  EXPECT_EQ(ok.load(), 0);
  EXPECT_LT(worst_us.load(), (kTimeout + milliseconds(100)).count() * 1000)
      << "a count waited past the Redis timeout";
  EXPECT_LE(deepest.load(), static_cast<double>(kMaxQueued));
  EXPECT_GT(
      metrics_.RedisQueueRejections(metrics::QueueRejection::kFull).Value() +
          metrics_.RedisQueueRejections(metrics::QueueRejection::kExpired)
              .Value(),
      0);
}

TEST_F(RedisCounterBoundsTest, StopAnswersEveryQueuedCountAndRefusesLater) {
  RedisWindowCounter counter(Options(milliseconds(200), 1000), metrics_);
  std::atomic<int> unavailable{0};
  for (int i = 0; i < 20; ++i) {
    counter.IncrementAsync("b", 0, 3600, [&](Result<int64_t> r) {
      if (!r.ok() && r.error().code == ErrorCode::kUnavailable) ++unavailable;
    });
  }
  const auto start = steady_clock::now();
  counter.Stop();
  EXPECT_LT(steady_clock::now() - start, milliseconds(600));
  EXPECT_EQ(unavailable.load(), 20);
  bool inline_answer = false;
  counter.IncrementAsync("b", 0, 3600,
                         [&](Result<int64_t> r) { inline_answer = !r.ok(); });
  EXPECT_TRUE(inline_answer);
}

TEST_F(RedisCounterBoundsTest, DestructorCallsNoCallback) {
  struct Owner {
    std::atomic<int> called{0};
  };
  auto owner = std::make_unique<Owner>();
  {
    auto counter = std::make_unique<RedisWindowCounter>(
        Options(milliseconds(200), 1000), metrics_);
    for (int i = 0; i < 5; ++i) {
      counter->IncrementAsync(
          "b", 0, 3600, [o = owner.get()](Result<int64_t>) { ++o->called; });
    }
    std::this_thread::sleep_for(milliseconds(20));  // a batch is in flight
    counter.reset();
  }
  EXPECT_EQ(owner->called.load(), 0);
}

}  // namespace
}  // namespace qs::ratelimit
