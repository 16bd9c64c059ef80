// The test PostgreSQL itself stopped under a running service: requests get a
// bare 500 (no internals), readiness fails, and once PostgreSQL is back the
// same process answers 200 again within seconds.
//
// This stops the server every integration test shares (tests run serially),
// so a guard starts it again whatever happens to the assertions.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "support/env.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

constexpr char kPgCtl[] = "/usr/lib/postgresql/15/bin/pg_ctl";

// Runs pg_ctl on the test server's data folder as the folder's owner
// (PostgreSQL refuses to run as root), from / so the owner need not read our
// working directory.
ProcessResult PgCtl(const std::string& data_dir, const std::string& args) {
  std::string cmd = "cd / && ";
  if (geteuid() == 0) cmd += "exec runuser -u postgres -- ";
  cmd += std::string(kPgCtl) + " -D '" + data_dir + "' " + args;
  return RunProcess({"sh", "-c", cmd}, "", {}, std::chrono::seconds(90));
}

// Starts PostgreSQL again when it goes out of scope, unless already started.
class PostgresRestartGuard {
 public:
  explicit PostgresRestartGuard(std::string data_dir)
      : data_dir_(std::move(data_dir)) {}
  ~PostgresRestartGuard() { Start(); }
  ProcessResult Stop() {
    stopped_ = true;
    return PgCtl(data_dir_, "-w -t 60 -m fast stop");
  }
  ProcessResult Start() {
    if (!stopped_) return ProcessResult{0, "", ""};
    ProcessResult r =
        PgCtl(data_dir_, "-w -t 60 -l '" + data_dir_ + "/restart.log' start");
    if (r.exit_code == 0) {
      stopped_ = false;
    } else {
      ADD_FAILURE() << "could not start the test PostgreSQL again: " << r.out
                    << r.err;
    }
    return r;
  }

 private:
  std::string data_dir_;
  bool stopped_ = false;
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

class PostgresOutageTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_FALSE(env_.pg_data.empty())
        << "QS_TEST_PG_DATA (the test PostgreSQL's data folder) is not set: "
           "run the integration tests through tests/run";
  }
};

void ExpectBare500(const HttpResponse& r, const std::string& what) {
  EXPECT_EQ(r.status, 500) << what << ": " << r.body;
  EXPECT_EQ(r.header("content-type"), "application/problem+json") << what;
  EXPECT_NE(r.body.find("\"status\":500"), std::string::npos)
      << what << ": " << r.body;
  EXPECT_FALSE(r.has("x-ratelimit-limit")) << what;
  EXPECT_EQ(r.header("access-control-allow-origin"), "*") << what;
  EXPECT_TRUE(r.has("x-request-id")) << what;
  // The request id is random text: leave it out of the search.
  std::string body = r.body;
  std::string id = r.header("x-request-id");
  for (size_t at; !id.empty() && (at = body.find(id)) != std::string::npos;) {
    body.erase(at, id.size());
  }
  body = Lower(body);
  for (const char* internal : {"postgres", "connection", "sql", "timeout",
                               "127.0.0.1", "refused", "socket"}) {
    EXPECT_EQ(body.find(internal), std::string::npos)
        << what << ": \"" << internal << "\" in " << r.body;
  }
}

TEST_F(PostgresOutageTest, StoppedDatabaseGives500AndRecoversWithoutARestart) {
  std::string license = cli_->NewLicense("acme");
  std::string cached = cli_->NewKey(license);
  std::string uncached = cli_->NewKey(license);
  cli_->Ok({"query", "put", "--license", license, "--schedule-id", "q1",
            "--status", "RUNNING"});
  Service service(env_, db_->url(), env_.redis_url,
                  {"--key-cache-ttl-ms", "60000"});
  const std::string target = StatusTarget("{\"schedule_id\":\"q1\"}");
  auto poll = [&](const std::string& token) {
    return HttpGet(service.port(), target,
                   {{"Authorization", "Bearer " + token}});
  };
  ASSERT_EQ(poll(cached).status, 200);
  ASSERT_EQ(HttpGet(service.admin_port(), "/readyz").status, 200);

  PostgresRestartGuard guard(env_.pg_data);
  ProcessResult stop = guard.Stop();
  ASSERT_EQ(stop.exit_code, 0) << "pg_ctl stop: " << stop.out << stop.err;

  // A cached key still needs the status read; an uncached one needs the key
  // lookup. Neither may pass for "not authenticated" or leak internals. The
  // per-instance status cache may answer until its change listener notices
  // the lost connection (well under a second), never longer.
  HttpResponse first =
      PollUntil([&] { return poll(cached); },
                [](const HttpResponse& r) { return r.status != 200; }, 2000);
  EXPECT_NE(first.status, 200) << "still 200 two seconds into the outage";
  ExpectBare500(first, "cached key");
  ExpectBare500(poll(cached), "cached key, again");
  ExpectBare500(poll(uncached), "uncached key");
  // Readiness is a background check's result, at most about a second old.
  HttpResponse ready =
      PollUntil([&] { return HttpGet(service.admin_port(), "/readyz"); },
                [](const HttpResponse& r) { return r.status == 503; }, 3000);
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(HttpGet(service.admin_port(), "/healthz").status, 200);
  EXPECT_GT(service.Metric("querystatus_postgres_errors_total"), 0);

  ProcessResult start = guard.Start();
  ASSERT_EQ(start.exit_code, 0);
  auto back = std::chrono::steady_clock::now();
  EXPECT_TRUE(Eventually([&] { return poll(cached).status == 200; }, 10000));
  std::printf(
      "[ recovery ] 200 again %.2f s after PostgreSQL accepted connections\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - back)
          .count());
  EXPECT_EQ(poll(uncached).status, 200);
  EXPECT_TRUE(Eventually(
      [&] { return HttpGet(service.admin_port(), "/readyz").status == 200; },
      10000));
  EXPECT_TRUE(service.process().Running());
}

}  // namespace
}  // namespace qs::testing
