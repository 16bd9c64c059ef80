// The hourly limit across instances: two `serve` processes share one Redis
// (the test's own, so every count starts at zero), and the limit that applies
// to a key follows key > license > configured default.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/env.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

class RateLimitClusterTest : public DatabaseTest {
 protected:
  RateLimitClusterTest() : DatabaseTest(/*own_redis=*/true) {}

  static std::map<std::string, std::string> Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
};

TEST_F(RateLimitClusterTest, TwoInstancesShareTheLimitExactly) {
  std::string license = cli_->NewLicense("acme");
  std::string token = cli_->NewKey(license, 50);
  cli_->Ok({"query", "put", "--license", license, "--schedule-id", "q1",
            "--status", "RUNNING"});
  Service a(env_, db_->url(), redis_->url());
  Service b(env_, db_->url(), redis_->url());
  const int ports[2] = {a.port(), b.port()};
  const std::string target = StatusTarget("{\"schedule_id\":\"q1\"}");

  constexpr int kThreads = 24;
  constexpr int kPerThread = 5;  // 120 requests in all
  std::vector<HttpResponse> responses(kThreads * kPerThread);
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return go; });
      }
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * kPerThread + i;
        responses[n] = HttpGet(ports[n % 2], target, Bearer(token));
      }
    });
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    go = true;
  }
  cv.notify_all();
  for (auto& th : threads) th.join();

  int ok = 0, limited = 0, other = 0;
  int ok_per_instance[2] = {0, 0};
  std::multiset<std::string> remaining_of_ok;
  for (size_t n = 0; n < responses.size(); ++n) {
    const HttpResponse& r = responses[n];
    EXPECT_EQ(r.header("x-ratelimit-limit"), "50") << "request " << n;
    if (r.status == 200) {
      ++ok;
      ++ok_per_instance[n % 2];
      remaining_of_ok.insert(r.header("x-ratelimit-remaining"));
    } else if (r.status == 429) {
      ++limited;
      EXPECT_EQ(r.header("x-ratelimit-remaining"), "0") << "request " << n;
      EXPECT_EQ(r.header("content-type"), "application/problem+json");
      ASSERT_TRUE(r.has("retry-after")) << "request " << n;
      int retry = std::stoi(r.header("retry-after"));
      EXPECT_GE(retry, 1);
      EXPECT_LE(retry, 3600);
    } else {
      ++other;
      ADD_FAILURE() << "request " << n << " answered " << r.status << ": "
                    << r.body;
    }
  }
  std::printf("[ cluster ] 200: %d (instance a %d, b %d), 429: %d, other: %d\n",
              ok, ok_per_instance[0], ok_per_instance[1], limited, other);
  EXPECT_EQ(ok, 50);
  EXPECT_EQ(limited, 70);
  // Counting is atomic: the 50 successes saw each remaining value 49..0 once.
  std::multiset<std::string> expected;
  for (int i = 0; i < 50; ++i) expected.insert(std::to_string(i));
  EXPECT_EQ(remaining_of_ok, expected);
  EXPECT_NE(redis_->Cli({"--scan", "--pattern", "qs:rl:*"}), "");
}

TEST_F(RateLimitClusterTest, KeyLimitBeatsLicenseLimitBeatsTheDefault) {
  std::string plain_license = cli_->NewLicense("plain");
  std::string limited_license = cli_->NewLicense("limited", 9);
  std::string key_default = cli_->NewKey(plain_license);
  std::string key_license = cli_->NewKey(limited_license);
  std::string key_own = cli_->NewKey(limited_license, 7);
  cli_->Ok({"query", "put", "--license", plain_license, "--schedule-id", "p1",
            "--status", "RUNNING"});
  cli_->Ok({"query", "put", "--license", limited_license, "--schedule-id", "l1",
            "--status", "RUNNING"});
  Service service(env_, db_->url(), redis_->url(), {"--rate-limit", "11"});

  auto limit_of = [&](const std::string& token,
                      const std::string& schedule_id) {
    HttpResponse r =
        HttpGet(service.port(),
                StatusTarget("{\"schedule_id\":\"" + schedule_id + "\"}"),
                Bearer(token));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("ratelimit-policy"),
              "\"hourly\";q=" + r.header("x-ratelimit-limit") + ";w=3600");
    return r.header("x-ratelimit-limit") + "/" +
           r.header("x-ratelimit-remaining");
  };
  EXPECT_EQ(limit_of(key_own, "l1"), "7/6");
  EXPECT_EQ(limit_of(key_license, "l1"), "9/8");
  EXPECT_EQ(limit_of(key_default, "p1"), "11/10");
  // Each key counts on its own: the second call of each moves one step.
  EXPECT_EQ(limit_of(key_own, "l1"), "7/5");
  EXPECT_EQ(limit_of(key_license, "l1"), "9/7");
}

}  // namespace
}  // namespace qs::testing
