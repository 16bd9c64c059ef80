#include "http/lifecycle.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <utility>

#include "metrics/metrics.h"

namespace qs::http {
namespace {

TEST(LifecycleTest, TheInFlightGaugeFollowsTheMarksItself) {
  metrics::Metrics metrics;
  Lifecycle lifecycle(&metrics.in_flight());
  {
    Lifecycle::InFlight first(&lifecycle);
    Lifecycle::InFlight second(&lifecycle);
    EXPECT_EQ(lifecycle.in_flight(), 2);
    EXPECT_EQ(metrics.in_flight().Value(), 2);
  }
  EXPECT_EQ(lifecycle.in_flight(), 0);
  EXPECT_EQ(metrics.in_flight().Value(), 0);
}

TEST(LifecycleTest, AMovedMarkCountsOnceAndLeavesOnce) {
  metrics::Metrics metrics;
  Lifecycle lifecycle(&metrics.in_flight());
  std::optional<Lifecycle::InFlight> moved;
  {
    Lifecycle::InFlight mark(&lifecycle);
    moved.emplace(std::move(mark));
  }
  EXPECT_EQ(metrics.in_flight().Value(), 1);
  EXPECT_FALSE(lifecycle.WaitIdle(std::chrono::milliseconds(1)));
  moved.reset();
  EXPECT_EQ(metrics.in_flight().Value(), 0);
  EXPECT_TRUE(lifecycle.WaitIdle(std::chrono::milliseconds(1)));
}

TEST(LifecycleTest, WithoutAGaugeOnlyTheCountMoves) {
  Lifecycle lifecycle;
  Lifecycle::InFlight mark(&lifecycle);
  EXPECT_EQ(lifecycle.in_flight(), 1);
}

}  // namespace
}  // namespace qs::http
