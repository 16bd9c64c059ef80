// The Redis counter against a real Redis of the test's own: concurrent
// counts of one bucket share script calls and still hand out every total
// exactly once, and a paused Redis (CLIENT PAUSE) is decided within the
// Redis timeout however many counts arrive meanwhile.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ratelimit/redis_window_counter.h"
#include "support/count_and_wait.h"
#include "support/env.h"

namespace qs::testing {
namespace {

using ratelimit::RedisOptions;
using ratelimit::RedisWindowCounter;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// The current window: a key whose expiry time has passed is deleted at once.
const int64_t kWindowStart = std::time(nullptr) - std::time(nullptr) % 3600;

class RedisCountGroupingTest : public ::testing::Test {
 protected:
  RedisOptions Options(milliseconds timeout) {
    auto parsed = RedisWindowCounter::ParseRedisUrl(redis_.url());
    EXPECT_TRUE(parsed.ok());
    RedisOptions o = parsed.value();
    o.connect_timeout = timeout;
    o.command_timeout = timeout;
    return o;
  }

  RedisServer redis_;
  metrics::Metrics metrics_;
};

TEST_F(RedisCountGroupingTest, ConcurrentCountsOfOneBucketShareScriptCalls) {
  RedisWindowCounter counter(Options(milliseconds(2000)), metrics_);
  constexpr int kThreads = 4, kPerThread = 500;
  std::mutex mu;
  std::vector<int64_t> seen;
  std::atomic<int> failures{0}, answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.IncrementAsync("k:1", kWindowStart, 3600,
                               [&](Result<int64_t> r) {
                                 std::lock_guard<std::mutex> lock(mu);
                                 if (r.ok()) {
                                   seen.push_back(r.value());
                                 } else {
                                   ++failures;
                                 }
                                 ++answered;
                               });
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(
      Eventually([&] { return answered == kThreads * kPerThread; }, 10000));
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_EQ(answered.load(), kThreads * kPerThread) << "a count answered twice";
  ASSERT_EQ(failures.load(), 0);
  std::sort(seen.begin(), seen.end());
  for (size_t i = 0; i < seen.size(); ++i) {
    ASSERT_EQ(seen[i], int64_t(i + 1))
        << "count " << i << " of " << seen.size() << ": "
        << ::testing::PrintToString(std::vector<int64_t>(
               seen.begin(), seen.begin() + std::min<size_t>(seen.size(), 12)));
  }
  const std::string key = "qs:rl:k:1:" + std::to_string(kWindowStart);
  EXPECT_EQ(redis_.Cli({"GET", key}), "2000\n");
  EXPECT_EQ(redis_.Cli({"EXPIRETIME", key}),
            std::to_string(kWindowStart + 3600 + 60) + "\n");
  const double calls = metrics_.redis_count_calls().Value();
  std::cout << kThreads * kPerThread << " counts in " << calls
            << " script calls\n";
  EXPECT_LT(calls, kThreads * kPerThread) << "no two counts were grouped";
  EXPECT_EQ(metrics_.redis_counted_requests().Value(), kThreads * kPerThread);
}

TEST_F(RedisCountGroupingTest, PausedRedisIsDecidedWithinTheTimeout) {
  constexpr milliseconds kTimeout(200);
  RedisOptions o = Options(kTimeout);
  o.max_queued = 512;
  RedisWindowCounter counter(o, metrics_);
  ASSERT_TRUE(CountAndWait(counter, "k:warm", kWindowStart, 3600).ok());

  ASSERT_EQ(redis_.Cli({"CLIENT", "PAUSE", "1500", "ALL"}), "OK\n");
  std::atomic<int64_t> worst_us{0};
  std::atomic<int> sent{0}, answered{0};
  std::atomic<bool> sampling{true};
  std::atomic<double> deepest{0};
  std::thread sampler([&] {
    while (sampling) {
      double d = metrics_.redis_queue_depth().Value();
      if (d > deepest) deepest = d;
      std::this_thread::sleep_for(milliseconds(1));
    }
  });
  const auto until = steady_clock::now() + milliseconds(1200);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      while (steady_clock::now() < until) {
        const auto start = steady_clock::now();
        ++sent;
        counter.IncrementAsync(
            "k:" + std::to_string(t), kWindowStart, 3600,
            [&, start](Result<int64_t>) {
              int64_t us =
                  std::chrono::duration_cast<std::chrono::microseconds>(
                      steady_clock::now() - start)
                      .count();
              int64_t prev = worst_us.load();
              while (us > prev && !worst_us.compare_exchange_weak(prev, us)) {
              }
              ++answered;
            });
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(Eventually([&] { return answered == sent; }, 2000));
  sampling = false;
  sampler.join();
  std::cout << sent << " counts during the pause, worst answer "
            << worst_us / 1000.0 << " ms, deepest queue " << deepest << "\n";
  EXPECT_LT(worst_us.load(), (kTimeout + milliseconds(50)).count() * 1000);
  EXPECT_LE(deepest.load(), 512.0);
  // After the pause, counting works again.
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_TRUE(Eventually(
      [&] { return CountAndWait(counter, "k:after", kWindowStart, 3600).ok(); },
      3000));
}

}  // namespace
}  // namespace qs::testing
