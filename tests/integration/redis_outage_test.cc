// Redis going away under a running service, on a redis-server of the test's
// own: fail-open keeps serving (with a per-instance fallback limit and a
// metric), fail-closed refuses with 500 and fails readiness, and both recover
// when Redis is back, without a restart.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/env.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

constexpr char kFailOpen[] =
    "querystatus_ratelimit_decisions_total{decision=\"fail_open\"";

class RedisOutageTest : public DatabaseTest {
 protected:
  RedisOutageTest() : DatabaseTest(/*own_redis=*/true) {}
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    license_ = cli_->NewLicense("acme");
    token_ = cli_->NewKey(license_, 5);
    cli_->Ok({"query", "put", "--license", license_, "--schedule-id", "q1",
              "--status", "RUNNING"});
    key_id_ = db_->Query("SELECT id FROM api_keys")[0];
  }

  HttpResponse Poll(const Service& service) {
    return HttpGet(service.port(), StatusTarget("{\"schedule_id\":\"q1\"}"),
                   {{"Authorization", "Bearer " + token_}});
  }

  // The Redis keys of this key's counter (one per window).
  std::vector<std::string> CounterKeys() {
    std::istringstream in(
        redis_->Cli({"--scan", "--pattern", "qs:rl:k:" + key_id_ + ":*"}));
    std::vector<std::string> keys;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) keys.push_back(line);
    }
    return keys;
  }

  std::string license_;
  std::string token_;
  std::string key_id_;
};

TEST_F(RedisOutageTest, FailOpenServesDuringTheOutageAndLimitsAgainAfter) {
  Service service(env_, db_->url(), redis_->url());
  HttpResponse first = Poll(service);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-ratelimit-remaining"), "4");
  ASSERT_EQ(CounterKeys().size(), 1u);

  redis_->Stop();
  double fail_open_before = service.Metric(kFailOpen);
  // The local fallback counts this instance's requests from zero with the
  // key's limit: 5 pass, the 6th is refused.
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = Poll(service);
    EXPECT_EQ(r.status, 200)
        << "request " << i << " during the outage: " << r.body;
    EXPECT_EQ(r.header("x-ratelimit-limit"), "5");
  }
  HttpResponse over = Poll(service);
  EXPECT_EQ(over.status, 429) << over.body;
  EXPECT_EQ(over.header("x-ratelimit-remaining"), "0");
  EXPECT_EQ(service.Metric(kFailOpen) - fail_open_before, 6);
  // Fail-open: readiness does not depend on Redis, but the body tells
  // (once the background check, at most about a second old, has run).
  HttpResponse ready = PollUntil(
      [&] { return HttpGet(service.admin_port(), "/readyz"); },
      [](const HttpResponse& r) {
        return r.body.find("\"redis\":\"unavailable\"") != std::string::npos;
      },
      3000);
  EXPECT_NE(ready.body.find("\"redis\":\"unavailable\""), std::string::npos)
      << ready.body;
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(service.log().find("ratelimit_fail_open"), std::string::npos);

  // Redis back, empty. Requests that still fail open meet the exhausted
  // local counter (429); the first one Redis counts creates the key again.
  redis_->Start();
  ASSERT_TRUE(Eventually(
      [&] {
        Poll(service);
        return !CounterKeys().empty();
      },
      5000))
      << "no request was counted in Redis after it came back";
  std::vector<std::string> keys = CounterKeys();
  ASSERT_EQ(keys.size(), 1u);
  int counted = std::stoi(redis_->Cli({"GET", keys[0]}));
  ASSERT_GE(counted, 1);
  ASSERT_LE(counted, 5);
  double fail_open_after_recovery = service.Metric(kFailOpen);
  for (int i = counted; i < 5; ++i) {
    HttpResponse r = Poll(service);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-ratelimit-remaining"), std::to_string(5 - i - 1));
  }
  HttpResponse limited = Poll(service);
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(redis_->Cli({"GET", keys[0]}), "6\n");
  EXPECT_EQ(service.Metric(kFailOpen), fail_open_after_recovery);
}

TEST_F(RedisOutageTest, FailClosedAnswers500AndFailsReadinessUntilRedisIsBack) {
  Service service(env_, db_->url(), redis_->url(),
                  {"--rate-limit-failure-mode", "closed"});
  ASSERT_EQ(Poll(service).status, 200);
  EXPECT_EQ(HttpGet(service.admin_port(), "/readyz").status, 200);

  redis_->Stop();
  const std::string fail_closed =
      "querystatus_ratelimit_decisions_total{decision=\"fail_closed\"";
  double before = service.Metric(fail_closed);
  HttpResponse r = Poll(service);
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  EXPECT_NE(r.body.find("\"status\":500"), std::string::npos) << r.body;
  EXPECT_FALSE(r.has("x-ratelimit-limit"));
  EXPECT_FALSE(r.has("x-ratelimit-remaining"));
  EXPECT_FALSE(r.has("ratelimit"));
  EXPECT_FALSE(r.has("retry-after"));
  EXPECT_EQ(r.header("access-control-allow-origin"), "*");
  for (const char* internal :
       {"redis", "Redis", "EVALSHA", "connect", "127.0.0.1"}) {
    EXPECT_EQ(r.body.find(internal), std::string::npos)
        << internal << " in " << r.body;
  }
  EXPECT_EQ(service.Metric(fail_closed) - before, 1);
  HttpResponse ready =
      PollUntil([&] { return HttpGet(service.admin_port(), "/readyz"); },
                [](const HttpResponse& r) { return r.status == 503; }, 3000);
  EXPECT_EQ(ready.status, 503) << ready.body;

  redis_->Start();
  EXPECT_TRUE(Eventually([&] { return Poll(service).status == 200; }, 5000));
  EXPECT_TRUE(Eventually(
      [&] { return HttpGet(service.admin_port(), "/readyz").status == 200; },
      5000));
}

}  // namespace
}  // namespace qs::testing
