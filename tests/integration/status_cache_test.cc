// The per-instance status cache against real PostgreSQL: a committed change
// is served by every instance within one second, and while the listening
// connection is down, reads go to the database (never stale data).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "support/env.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

using Clock = std::chrono::steady_clock;

class StatusCacheIntegrationTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    license_ = cli_->NewLicense("cache", 10000);
    token_ = cli_->NewKey(license_, 10000);
    Put("RUNNING");
  }

  void Put(const std::string& status) {
    cli_->Ok({"query", "put", "--license", license_, "--schedule-id", "cached",
              "--status", status});
  }

  std::string StatusOn(const Service& s) {
    auto r = HttpGet(s.port(), StatusTarget(R"({"schedule_id":"cached"})"),
                     {{"Authorization", "Bearer " + token_}});
    auto at = r.body.find("\"status_code\":\"");
    if (r.status != 200 || at == std::string::npos)
      return "HTTP " + std::to_string(r.status);
    at += 15;
    return r.body.substr(at, r.body.find('"', at) - at);
  }

  std::string license_;
  std::string token_;
};

TEST_F(StatusCacheIntegrationTest,
       CommittedChangeIsServedByTwoInstancesWithinOneSecond) {
  Service a(env_, db_->url(), env_.redis_url);
  Service b(env_, db_->url(), env_.redis_url);
  const std::string hit =
      "querystatus_status_cache_lookups_total{result=\"hit\"";
  // Warm both caches and show they answer from memory.
  ASSERT_TRUE(Eventually(
      [&] { return StatusOn(a) == "RUNNING" && a.Metric(hit) >= 1; }, 5000));
  ASSERT_TRUE(Eventually(
      [&] { return StatusOn(b) == "RUNNING" && b.Metric(hit) >= 1; }, 5000));

  for (const char* next : {"SUCCESS", "FAILURE", "QUEUED"}) {
    Put(next);  // returns once committed
    auto committed = Clock::now();
    bool a_sees = false, b_sees = false;
    while (Clock::now() - committed < std::chrono::seconds(1) &&
           !(a_sees && b_sees)) {
      a_sees = a_sees || StatusOn(a) == next;
      b_sees = b_sees || StatusOn(b) == next;
    }
    double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - committed)
            .count();
    std::printf("[ cache ] %s served by both instances after %.1f ms\n", next,
                ms);
    EXPECT_TRUE(a_sees && b_sees) << next << " not served within one second";
    // And it stays that way (no stale entry comes back).
    EXPECT_EQ(StatusOn(a), next);
    EXPECT_EQ(StatusOn(b), next);
  }
}

TEST_F(StatusCacheIntegrationTest, ReadsGoToTheDatabaseWhileTheListenerIsDown) {
  Service s(env_, db_->url(), env_.redis_url);
  ASSERT_TRUE(Eventually([&] { return StatusOn(s) == "RUNNING"; }, 5000));
  StatusOn(s);  // cached now
  const std::string bypass =
      "querystatus_status_cache_lookups_total{result=\"bypass\"";
  double bypass_before = s.Metric(bypass);

  // Keep killing the service's listening connection (it reconnects after
  // 100 ms or more), so that it is down for most of what follows.
  std::atomic<bool> stop{false};
  std::thread killer([&] {
    while (!stop) {
      db_->Query(
          "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity "
          "WHERE application_name = 'querystatus-listener' AND datname = '" +
          db_->name() + "'");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Put("STOPPED");
  // Every read after the commit sees it, at once.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(StatusOn(s), "STOPPED") << "read " << i;
  }
  // The listener notices each kill on its own time (sooner or later on a
  // busy machine): reads made while it is down go to the database.
  EXPECT_TRUE(Eventually(
      [&] {
        EXPECT_EQ(StatusOn(s), "STOPPED");
        return s.Metric(bypass) > bypass_before;
      },
      10000));
  stop = true;
  killer.join();
  EXPECT_NE(s.log().find("status_listener_down"), std::string::npos);
  // The listener comes back and the cache is used again.
  const std::string hit =
      "querystatus_status_cache_lookups_total{result=\"hit\"";
  double hits_before = s.Metric(hit);
  EXPECT_TRUE(Eventually(
      [&] { return StatusOn(s) == "STOPPED" && s.Metric(hit) > hits_before; },
      5000));
}

}  // namespace
}  // namespace qs::testing
