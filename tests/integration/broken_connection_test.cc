// PostgreSQL connections that break under a running service, the pool's
// (closed by the server) and the status cache listener's (cut by its
// deadline while the server is silent): the service recovers and still
// stops cleanly on SIGTERM with exit 0.
//
// The exit code is the point under the AddressSanitizer build that the test
// command runs: LeakSanitizer makes a process that leaked exit non-zero, and
// a statement on a connection that broke during the call is where a libpq
// result used to be left without an owner.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/env.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

class BrokenConnectionTest : public DatabaseTest {};

TEST_F(BrokenConnectionTest,
       TerminatedBackendFailsOneReadThenReconnectsAndSigtermExitsZero) {
  std::string license = cli_->NewLicense("acme");
  std::string token = cli_->NewKey(license);
  for (const char* id : {"first", "second", "third"}) {
    cli_->Ok({"query", "put", "--license", license, "--schedule-id", id,
              "--status", "RUNNING"});
  }
  // One pooled connection, so the request after the termination must use
  // the terminated one; the key stays cached, so that request is a status
  // read; no status cache, so every read reaches PostgreSQL.
  Service service(env_, db_->url(), env_.redis_url,
                  {"--database-pool-size", "1", "--key-cache-ttl-ms", "60000",
                   "--status-cache-bytes", "0"});
  auto poll = [&](const std::string& id) {
    return HttpRequest(service.port(), "GET",
                       StatusTarget("{\"schedule_id\":\"" + id + "\"}"),
                       {{"Authorization", "Bearer " + token}}, 10000);
  };
  ASSERT_EQ(poll("first").status, 200);

  // Every session of the service on this database (the pool's one).
  const std::string others =
      "FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
      "pg_backend_pid()";
  EXPECT_EQ(db_->Query("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) "
                       "AS done " +
                       others + ") t WHERE done")[0],
            "1");
  ASSERT_TRUE(Eventually(
      [&] { return db_->Query("SELECT count(*) " + others)[0] == "0"; }, 5000))
      << "the terminated session is still there";

  HttpResponse failed = poll("second");
  EXPECT_EQ(failed.status, 500) << failed.body;
  HttpResponse healed = poll("second");
  EXPECT_EQ(healed.status, 200) << healed.body;
  EXPECT_EQ(poll("third").status, 200);

  service.process().Signal(SIGTERM);
  int code = service.process().Wait(std::chrono::seconds(30));
  EXPECT_EQ(code, 0) << service.log();
}

// Resumes a stopped PostgreSQL backend when it goes out of scope.
class ContinueGuard {
 public:
  explicit ContinueGuard(pid_t pid) : pid_(pid) {}
  ~ContinueGuard() { kill(pid_, SIGCONT); }

 private:
  pid_t pid_;
};

TEST_F(BrokenConnectionTest,
       ListenerCutDuringItsHeartbeatReconnectsAndSigtermExitsZero) {
  Service service(env_, db_->url(), env_.redis_url,
                  {"--database-timeout-ms", "500"});
  const std::string listener_pid =
      "SELECT pid::text FROM pg_stat_activity WHERE application_name = "
      "'querystatus-listener' AND datname = current_database()";
  std::vector<std::string> pids;
  ASSERT_TRUE(Eventually(
      [&] {
        pids = db_->Query(listener_pid);
        return pids.size() == 1;
      },
      5000))
      << "no listener session";
  // Its session exists before it has LISTENed: freeze it only once it says
  // it is connected, or the cut lands in its set-up instead of a heartbeat.
  ASSERT_TRUE(Eventually(
      [&] {
        return service.log().find("\"status_listener_connected\"") !=
               std::string::npos;
      },
      5000))
      << service.log();
  pids = db_->Query(listener_pid);
  ASSERT_EQ(pids.size(), 1u);
  pid_t backend = static_cast<pid_t>(std::stol(pids[0]));
  {
    // A frozen backend: the next heartbeat gets no answer, and its deadline
    // shuts the socket down under the running statement.
    ContinueGuard resume(backend);
    ASSERT_EQ(kill(backend, SIGSTOP), 0) << "cannot stop backend " << backend;
    ASSERT_TRUE(Eventually(
        [&] {
          return service.log().find("\"status_listener_down\"") !=
                 std::string::npos;
        },
        5000))
        << service.log();
  }
  EXPECT_TRUE(Eventually(
      [&] {
        return service.log().find("\"status_listener_reconnected\"") !=
               std::string::npos;
      },
      10000))
      << service.log();

  service.process().Signal(SIGTERM);
  int code = service.process().Wait(std::chrono::seconds(30));
  EXPECT_EQ(code, 0) << service.log();
}

}  // namespace
}  // namespace qs::testing
