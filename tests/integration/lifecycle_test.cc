// Graceful shutdown with real slow requests: status reads are held back by a
// lock on the queries table, SIGTERM arrives while they wait, and the
// process must fail readiness, finish every one of them, and exit 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "support/env.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

constexpr int kSlowRequests = 8;
constexpr char kInFlight[] = "querystatus_http_requests_in_flight";

class LifecycleTest : public DatabaseTest {
 protected:
};

TEST_F(LifecycleTest, SigtermDuringSlowRequestsFinishesThemAllAndExitsZero) {
  std::string license = cli_->NewLicense("acme");
  std::string token = cli_->NewKey(license);
  // One query to warm up with, and one per slow request: a status read that
  // was never made cannot come from any per-instance cache.
  cli_->Ok({"query", "put", "--license", license, "--schedule-id", "warm",
            "--status", "RUNNING"});
  for (int i = 0; i < kSlowRequests; ++i) {
    cli_->Ok({"query", "put", "--license", license, "--schedule-id",
              "slow" + std::to_string(i), "--status", "RUNNING"});
  }
  // The drain delay is shorter than the lock is held, so the requests are
  // still in flight when the process stops waiting for the load balancer
  // and starts waiting for them. Statements may wait longer than the hold.
  Service service(
      env_, db_->url(), env_.redis_url,
      {"--drain-delay-seconds", "2", "--key-cache-ttl-ms", "60000",
       "--database-timeout-ms", "15000", "--shutdown-timeout-seconds", "30"});
  auto poll = [&](const std::string& id) {
    return HttpRequest(service.port(), "GET",
                       StatusTarget("{\"schedule_id\":\"" + id + "\"}"),
                       {{"Authorization", "Bearer " + token}}, 30000);
  };
  // Caches the key: its lookup reads api_keys and licenses, which stay free.
  ASSERT_EQ(poll("warm").status, 200);
  ASSERT_EQ(HttpGet(service.admin_port(), "/readyz").status, 200);

  pqxx::connection locker(db_->url());
  auto lock = std::make_unique<pqxx::work>(locker);
  lock->exec("LOCK TABLE queries IN ACCESS EXCLUSIVE MODE");

  std::vector<HttpResponse> responses(kSlowRequests);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSlowRequests; ++i) {
    threads.emplace_back(
        [&, i] { responses[i] = poll("slow" + std::to_string(i)); });
  }
  struct Joiner {
    std::vector<std::thread>& threads;
    ~Joiner() {
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } joiner{threads};

  bool all_in_flight = Eventually(
      [&] { return service.Metric(kInFlight) == kSlowRequests; }, 10000);
  if (!all_in_flight) lock->abort();
  ASSERT_TRUE(all_in_flight) << "in flight: " << service.Metric(kInFlight);
  // They wait on the lock, in PostgreSQL (connections made for them wait
  // already while preparing their statements).
  std::string waiting;
  EXPECT_TRUE(Eventually(
      [&] {
        waiting = db_->Query(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
            "'queries'::regclass")[0];
        return waiting == std::to_string(kSlowRequests);
      },
      5000))
      << waiting << " waiting on the lock";

  auto sigterm_at = std::chrono::steady_clock::now();
  service.process().Signal(SIGTERM);
  HttpResponse ready =
      PollUntil([&] { return HttpGet(service.admin_port(), "/readyz"); },
                [](const HttpResponse& r) { return r.status == 503; }, 1000);
  EXPECT_EQ(ready.status, 503)
      << "readyz answered " << ready.status << " after SIGTERM";
  // Past the drain delay the process waits for the requests alone.
  std::this_thread::sleep_for(std::chrono::milliseconds(3000) -
                              (std::chrono::steady_clock::now() - sigterm_at));
  EXPECT_TRUE(service.process().Running()) << "exited with requests in flight";
  EXPECT_EQ(HttpGet(service.admin_port(), "/readyz").status, 503);
  EXPECT_EQ(service.Metric(kInFlight), kSlowRequests);
  lock->commit();

  for (auto& t : threads) t.join();
  for (int i = 0; i < kSlowRequests; ++i) {
    EXPECT_EQ(responses[i].status, 200)
        << "slow request " << i << ": " << responses[i].body;
    EXPECT_NE(responses[i].body.find("\"schedule_id\":\"slow" +
                                     std::to_string(i) + "\""),
              std::string::npos);
  }
  int code = service.process().Wait(std::chrono::seconds(20));
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - sigterm_at)
                       .count();
  std::printf("[ drain ] exited %d, %.2f s after SIGTERM\n", code, seconds);
  EXPECT_EQ(code, 0) << service.log();
  std::string log = service.log();
  EXPECT_NE(log.find("\"drain_started\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"clean\":\"true\""), std::string::npos) << log;
}

}  // namespace
}  // namespace qs::testing
