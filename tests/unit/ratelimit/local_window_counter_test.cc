#include "ratelimit/local_window_counter.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace qs::ratelimit {
namespace {

constexpr int64_t kW = 3600;
constexpr int64_t kT0 = 1700000000 - 1700000000 % kW;

TEST(LocalWindowCounterTest, CountsPerBucketAndWindow) {
  LocalWindowCounter c;
  EXPECT_EQ(c.Increment("k:1", kT0), 1);
  EXPECT_EQ(c.Increment("k:1", kT0), 2);
  EXPECT_EQ(c.Increment("k:2", kT0), 1);
  EXPECT_EQ(c.Increment("k:1", kT0 + kW), 1);
  EXPECT_EQ(c.Increment("k:1", kT0), 3);  // a late request of the old window
}

TEST(LocalWindowCounterTest, KeepsOnlyTheTwoNewestWindows) {
  LocalWindowCounter c;
  for (int i = 0; i < 10; ++i) c.Increment("k:" + std::to_string(i), kT0);
  c.Increment("k:0", kT0 + kW);
  EXPECT_EQ(c.size(), 11u);
  c.Increment("k:0", kT0 + 2 * kW);
  EXPECT_EQ(c.size(), 2u);  // the first window is gone
  // A window older than both kept is not stored.
  EXPECT_EQ(c.Increment("k:0", kT0), 1);
  EXPECT_EQ(c.size(), 2u);
}

TEST(LocalWindowCounterTest, StaysWithinTheBucketCap) {
  LocalWindowCounter c(10);
  for (int i = 0; i < 1000; ++i) {
    c.Increment("a:" + std::to_string(i), kT0);
    ASSERT_LE(c.size(), 10u);
  }
}

TEST(LocalWindowCounterTest, FullCounterDropsTheOlderWindowFirst) {
  LocalWindowCounter c(10);
  for (int i = 0; i < 8; ++i) c.Increment("old:" + std::to_string(i), kT0);
  c.Increment("new:0", kT0 + kW);
  c.Increment("new:0", kT0 + kW);
  c.Increment("new:1", kT0 + kW);
  EXPECT_EQ(c.size(), 10u);
  // Full: the new bucket evicts the old window, not the current counts.
  EXPECT_EQ(c.Increment("new:2", kT0 + kW), 1);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.Increment("new:0", kT0 + kW), 3);
}

TEST(LocalWindowCounterTest, CountsExactlyUnderContention) {
  LocalWindowCounter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) c.Increment("k:1", kT0);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.Increment("k:1", kT0), 4001);
}

}  // namespace
}  // namespace qs::ratelimit
