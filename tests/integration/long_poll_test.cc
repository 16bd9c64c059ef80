// Prefer: wait against real PostgreSQL and Redis: a commit answers the
// requests held for it on every instance within a second; the drain and a
// feed that goes down answer them at once; a spent key ends in 429; and a
// hold outlives every timer of the connection (Pistache's and the
// service's own).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <vector>

#include "support/env.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kHeld[] = "querystatus_held_requests";

// Each test has a Redis of its own: key ids restart at 1 in every scratch
// database, and a shared Redis would carry one test's counts into the next.
class LongPollTest : public DatabaseTest {
 protected:
  LongPollTest() : DatabaseTest(/*own_redis=*/true) {}

  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    license_ = cli_->NewLicense("poll", 10000);
    token_ = cli_->NewKey(license_, 10000);
    Put("RUNNING");
  }

  void Put(const std::string& status) {
    cli_->Ok({"query", "put", "--license", license_, "--schedule-id", "held",
              "--status", status});
  }

  HttpResponse Get(const Service& s, const std::string& etag = "",
                   const std::string& prefer = "", int timeout_ms = 10000,
                   const std::string& token = "") {
    std::map<std::string, std::string> h{
        {"Authorization", "Bearer " + (token.empty() ? token_ : token)}};
    if (!etag.empty()) h["If-None-Match"] = etag;
    if (!prefer.empty()) h["Prefer"] = prefer;
    return HttpRequest(s.port(), "GET",
                       StatusTarget(R"({"schedule_id":"held"})"), h,
                       timeout_ms);
  }

  // The current tag, once the instance's change feed is up (before that,
  // nothing is held).
  std::string TagOnceListening(const Service& s) {
    std::string tag;
    EXPECT_TRUE(Eventually(
        [&] {
          tag = Get(s).header("etag");
          return !tag.empty() &&
                 s.Metric(
                     "querystatus_status_cache_lookups_total{result=\"hit\"") >
                     0;
        },
        10000));
    return tag;
  }

  // A held request in the background.
  std::future<HttpResponse> Hold(const Service& s, const std::string& tag,
                                 int wait_seconds,
                                 const std::string& token = "") {
    return std::async(std::launch::async, [this, &s, tag, wait_seconds, token] {
      return Get(s, tag, "wait=" + std::to_string(wait_seconds),
                 (wait_seconds + 20) * 1000, token);
    });
  }

  static bool Answered(std::future<HttpResponse>& f, milliseconds within) {
    return f.wait_for(within) == std::future_status::ready;
  }

  std::string license_;
  std::string token_;
};

TEST_F(LongPollTest, ACommitAnswersRequestsHeldOnTwoInstancesWithinOneSecond) {
  Service a(env_, db_->url(), redis_url());
  Service b(env_, db_->url(), redis_url());
  std::string tag = TagOnceListening(a);
  ASSERT_EQ(TagOnceListening(b), tag) << "two instances, two tags";
  auto on_a = Hold(a, tag, 30);
  auto on_b = Hold(b, tag, 30);
  ASSERT_TRUE(Eventually(
      [&] { return a.Metric(kHeld) == 1 && b.Metric(kHeld) == 1; }, 5000));
  EXPECT_FALSE(Answered(on_a, milliseconds(0)));

  Put("SUCCESS");  // returns once committed
  Clock::time_point committed = Clock::now();
  ASSERT_TRUE(Answered(on_a, std::chrono::seconds(1))) << "a: not within 1 s";
  ASSERT_TRUE(Answered(on_b, std::chrono::seconds(1))) << "b: not within 1 s";
  double ms =
      std::chrono::duration<double, std::milli>(Clock::now() - committed)
          .count();
  std::printf(
      "[ long poll ] both held requests answered %.1f ms after the commit\n",
      ms);
  for (auto* f : {&on_a, &on_b}) {
    HttpResponse r = f->get();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("preference-applied"), "wait=30");
    EXPECT_NE(r.header("etag"), tag);
    EXPECT_NE(r.body.find("\"SUCCESS\""), std::string::npos) << r.body;
  }
  EXPECT_GE(a.Metric("querystatus_wake_latency_seconds_count"), 1);
  EXPECT_GE(a.Metric("querystatus_wakeups_total{reason=\"change\""), 1);
}

TEST_F(LongPollTest,
       TheDrainAnswersHeldRequestsAtOnceAndClosesTheirConnections) {
  Service s(env_, db_->url(), redis_url(), {"--drain-delay-seconds", "5"});
  std::string tag = TagOnceListening(s);
  auto held = Hold(s, tag, 40);
  ASSERT_TRUE(Eventually([&] { return s.Metric(kHeld) == 1; }, 5000));
  Clock::time_point term = Clock::now();
  s.process().Signal(SIGTERM);
  ASSERT_TRUE(Answered(held, std::chrono::seconds(2)))
      << "the drain left a held request waiting";
  double ms =
      std::chrono::duration<double, std::milli>(Clock::now() - term).count();
  std::printf("[ long poll ] held request answered %.1f ms after SIGTERM\n",
              ms);
  HttpResponse r = held.get();
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.header("preference-applied"), "wait=40");
  EXPECT_EQ(r.header("connection"), "close");
  // Within the drain delay, a new wait is not held.
  HttpResponse late = Get(s, tag, "wait=30", 5000);
  EXPECT_EQ(late.status, 304);
  EXPECT_FALSE(late.has("preference-applied"));
}

TEST_F(LongPollTest, AFeedThatGoesDownAnswersHeldRequestsAtOnce) {
  Service s(env_, db_->url(), redis_url());
  std::string tag = TagOnceListening(s);
  auto held = Hold(s, tag, 40);
  ASSERT_TRUE(Eventually([&] { return s.Metric(kHeld) == 1; }, 5000));
  Clock::time_point cut = Clock::now();
  db_->Query(
      "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity "
      "WHERE application_name = 'querystatus-listener' AND datname = '" +
      db_->name() + "'");
  ASSERT_TRUE(Answered(held, std::chrono::seconds(3)))
      << "a request stayed held on a feed that was down";
  double ms =
      std::chrono::duration<double, std::milli>(Clock::now() - cut).count();
  std::printf(
      "[ long poll ] held request answered %.1f ms after the feed was cut\n",
      ms);
  HttpResponse r = held.get();
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.header("preference-applied"), "wait=40");
  EXPECT_GE(s.Metric("querystatus_wakeups_total{reason=\"feed_down\""), 1);
}

TEST_F(LongPollTest, AKeySpentWhileItsRequestWasHeldEndsIn429) {
  std::string small = cli_->NewKey(license_, 3);
  Service s(env_, db_->url(), redis_url());
  std::string tag = TagOnceListening(s);  // with another key of the license
  auto held = Hold(s, tag, 30, small);
  ASSERT_TRUE(Eventually([&] { return s.Metric(kHeld) == 1; }, 5000))
      << (Answered(held, milliseconds(0)) ? held.get().status : 0);
  for (int i = 0; i < 3; ++i) Get(s, "", "", 10000, small);  // spent
  Put("SUCCESS");
  ASSERT_TRUE(Answered(held, std::chrono::seconds(2)));
  HttpResponse r = held.get();
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("x-ratelimit-remaining"), "0");
}

// Pistache 0.0.5 closes a connection whose request has not been answered
// after its header timeout and body timeout (60 s each by default; its
// keep-alive timer of 300 s applies only to connections its own parser
// has marked idle, which this service never feeds). The service switches
// them off and runs its own: 408 after 10 s for a request still arriving,
// an idle keep-alive connection closed after --keepalive-timeout-seconds
// (2 s here), a response unread for 30 s. None may end a held request: it
// is held for 62 s, past all of them.
TEST_F(LongPollTest, AHoldLongerThanEveryConnectionTimerIsAnsweredAtItsEnd) {
  Service s(env_, db_->url(), redis_url(),
            {"--max-wait-seconds", "62", "--keepalive-timeout-seconds", "2"});
  std::string tag = TagOnceListening(s);
  Clock::time_point start = Clock::now();
  HttpResponse r = Get(s, tag, "wait=62", 90000);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("[ long poll ] a 62 s hold answered after %.1f s\n", seconds);
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.header("preference-applied"), "wait=62");
  EXPECT_GE(seconds, 61.9);
  EXPECT_LT(seconds, 64);
}

}  // namespace
}  // namespace qs::testing
