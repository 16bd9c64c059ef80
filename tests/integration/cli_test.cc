// The operator commands against the real PostgreSQL: each command's success
// and its error cases, on a fresh migrated database per test.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "support/env.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

class CliTest : public DatabaseTest {
 protected:
  std::string Count(const std::string& table) {
    return db_->Query("SELECT count(*) FROM " + table)[0];
  }
};

TEST_F(CliTest, MigrateTwiceAppliesNothingTheSecondTime) {
  // The fixture's database is already migrated once.
  auto again = cli_->Run({"migrate"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "nothing to apply\n");
  size_t files = 0;
  for (const auto& f :
       std::filesystem::directory_iterator(env_.source_dir + "/migrations")) {
    files += f.path().extension() == ".sql";
  }
  ASSERT_GE(files, 2u);
  EXPECT_EQ(db_->Query("SELECT count(*) FROM schema_migrations")[0],
            std::to_string(files));
}

TEST_F(CliTest, MigrateAppliesEveryMigrationOnAnEmptyDatabase) {
  db_->Query("DROP SCHEMA public CASCADE; CREATE SCHEMA public; SELECT 1");
  auto r = cli_->Run({"migrate"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("applied 0001_init"), std::string::npos) << r.out;
  EXPECT_EQ(Count("licenses"), "0");
}

TEST_F(CliTest, MigrateFailsClearlyWhenTheDatabaseIsUnreachable) {
  Cli broken(
      env_,
      "postgresql://postgres@127.0.0.1:" + std::to_string(FreePort()) + "/x",
      env_.redis_url);
  auto r = broken.Run({"migrate"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("error:"), std::string::npos);
}

TEST_F(CliTest, LicenseCreatePrintsItsIdAloneOnALine) {
  auto r = cli_->Run({"license", "create", "--name", "acme", "--rate-limit",
                      "300", "--retention-seconds", "60"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string id = r.out.substr(0, r.out.size() - 1);
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_EQ(id.find_first_not_of("0123456789"), std::string::npos) << r.out;
  EXPECT_EQ(
      db_->Query("SELECT name || ':' || rate_limit || ':' || retention_seconds "
                 "FROM licenses WHERE id = " +
                 id)[0],
      "acme:300:60");
}

TEST_F(CliTest, LicenseCreateRejectsAnOutOfRangeLimitAndMissingName) {
  EXPECT_EQ(cli_->Run({"license", "create", "--name", "a", "--rate-limit", "0"})
                .exit_code,
            2);
  EXPECT_EQ(
      cli_->Run({"license", "create", "--name", "a", "--rate-limit", "10001"})
          .exit_code,
      2);
  EXPECT_EQ(cli_->Run({"license", "create"}).exit_code, 2);
  EXPECT_EQ(
      cli_->Run({"license", "create", "--name", "a", "--bogus", "1"}).exit_code,
      2);
  EXPECT_EQ(Count("licenses"), "0");
}

TEST_F(CliTest, KeyCreateStoresOnlyAHashOfTheToken) {
  std::string license = cli_->NewLicense("acme");
  auto r = cli_->Run({"key", "create", "--license", license, "--rate-limit",
                      "50", "--expires-in-seconds", "3600"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string token = r.out.substr(0, r.out.size() - 1);
  EXPECT_GE(token.size(), 26u);  // >= 128 bits in base64url, plus a prefix
  EXPECT_EQ(
      token.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"),
      std::string::npos);
  // No column of any table holds the token, or any part of it.
  auto tables = db_->Query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = "
      "'public'");
  ASSERT_FALSE(tables.empty());
  std::string secret = token.substr(4);  // without the public prefix
  for (const auto& t : tables) {
    auto hits =
        db_->Query("SELECT count(*) FROM " + t + " x WHERE x::text LIKE '%" +
                   secret.substr(0, 16) + "%'");
    EXPECT_EQ(hits[0], "0") << "table " << t << " holds the token";
  }
  EXPECT_EQ(
      db_->Query(
          "SELECT count(*) FROM api_keys WHERE token_sha256 ~ '^[0-9a-f]{64}$' "
          "AND rate_limit = 50 AND expires_at > now()")[0],
      "1");
}

TEST_F(CliTest, KeyCreateTokensAreUnique) {
  std::string license = cli_->NewLicense("acme");
  EXPECT_NE(cli_->NewKey(license), cli_->NewKey(license));
}

TEST_F(CliTest, KeyCreateForAnUnknownLicenseFails) {
  auto r = cli_->Run({"key", "create", "--license", "987654"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown license"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(Count("api_keys"), "0");
}

TEST_F(CliTest, KeyRevokeMarksTheKeyAndRejectsAnUnknownToken) {
  std::string license = cli_->NewLicense("acme");
  std::string token = cli_->NewKey(license);
  auto r = cli_->Run({"key", "revoke", "--token", token});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(
      db_->Query(
          "SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL")[0],
      "1");
  auto unknown =
      cli_->Run({"key", "revoke", "--token", "qsk_not_a_real_token"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no such key"), std::string::npos);
}

TEST_F(CliTest, QueryPutCreatesThenUpdates) {
  std::string license = cli_->NewLicense("acme");
  cli_->Ok({"query", "put", "--license", license, "--schedule-id", "q1",
            "--status", "RUNNING", "--ready", "1", "--total", "3"});
  EXPECT_EQ(
      db_->Query(
          "SELECT status_code || queries_ready || queries_total || "
          "(finished_at IS NULL) FROM queries WHERE schedule_id = 'q1'")[0],
      "RUNNING13true");
  cli_->Ok({"query", "put", "--license", license, "--schedule-id", "q1",
            "--status", "SUCCESS", "--ready", "3", "--finished-ago", "120"});
  EXPECT_EQ(
      db_->Query(
          "SELECT status_code || queries_ready || queries_total || "
          "(now() - finished_at > interval '119 seconds') FROM queries")[0],
      "SUCCESS33true");
}

TEST_F(CliTest, QueryPutRejectsUnknownLicenseBadStatusAndForeignScheduleId) {
  std::string a = cli_->NewLicense("a");
  std::string b = cli_->NewLicense("b");
  auto unknown = cli_->Run({"query", "put", "--license", "999999",
                            "--schedule-id", "q", "--status", "RUNNING"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("unknown license"), std::string::npos);
  auto bad = cli_->Run({"query", "put", "--license", a, "--schedule-id", "q",
                        "--status", "DONE"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--status"), std::string::npos);
  auto bad_id = cli_->Run({"query", "put", "--license", a, "--schedule-id",
                           "no spaces", "--status", "RUNNING"});
  EXPECT_EQ(bad_id.exit_code, 2);
  auto bad_ready = cli_->Run({"query", "put", "--license", a, "--schedule-id",
                              "q", "--status", "RUNNING", "--ready", "10001"});
  EXPECT_EQ(bad_ready.exit_code, 2);
  cli_->Ok({"query", "put", "--license", a, "--schedule-id", "q", "--status",
            "RUNNING"});
  auto foreign = cli_->Run({"query", "put", "--license", b, "--schedule-id",
                            "q", "--status", "FAILURE"});
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.err.find("another license"), std::string::npos);
  EXPECT_EQ(
      db_->Query("SELECT status_code FROM queries WHERE schedule_id = 'q'")[0],
      "RUNNING");
}

TEST_F(CliTest, RowsLoadAppendsWithContinuingIndexes) {
  std::string license = cli_->NewLicense("acme");
  cli_->Ok({"query", "put", "--license", license, "--schedule-id", "q",
            "--status", "SUCCESS"});
  EXPECT_EQ(
      cli_->Ok({"rows", "load", "--schedule-id", "q"},
               "{\"a\":1}\n{\"a\":2,\"s\":\"tab\\there \\\\ \\\"q\\\"\"}\n"),
      "2");
  EXPECT_EQ(cli_->Ok({"rows", "load", "--schedule-id", "q"}, "\n{\"a\":3}\n"),
            "1");
  EXPECT_EQ(
      db_->Query(
          "SELECT string_agg(row_index || '=' || data::text, ' ' ORDER BY "
          "row_index) FROM result_rows")[0],
      "0={\"a\":1} 1={\"a\":2,\"s\":\"tab\\there \\\\ \\\"q\\\"\"} "
      "2={\"a\":3}");
  EXPECT_EQ(db_->Query("SELECT total_rows FROM queries")[0], "3");
}

TEST_F(CliTest, RowsLoadRejectsANonObjectRowWithItsLineNumberAndKeepsNothing) {
  std::string license = cli_->NewLicense("acme");
  cli_->Ok({"query", "put", "--license", license, "--schedule-id", "q",
            "--status", "SUCCESS"});
  for (const std::string bad : {"[1,2]", "42", "\"text\"", "{\"a\":", "null"}) {
    auto r = cli_->Run({"rows", "load", "--schedule-id", "q"},
                       "{\"ok\":1}\n{\"ok\":2}\n" + bad + "\n{\"ok\":4}\n");
    EXPECT_EQ(r.exit_code, 1) << bad;
    EXPECT_NE(r.err.find("line 3"), std::string::npos) << bad << ": " << r.err;
  }
  EXPECT_EQ(Count("result_rows"), "0");
  EXPECT_EQ(db_->Query("SELECT total_rows FROM queries")[0], "0");
}

TEST_F(CliTest, RowsLoadForAnUnknownScheduleIdFails) {
  auto r =
      cli_->Run({"rows", "load", "--schedule-id", "missing"}, "{\"a\":1}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown schedule id"), std::string::npos) << r.err;
}

TEST_F(CliTest, RowsLoadOfOneHundredThousandRowsTakesSeconds) {
  std::string license = cli_->NewLicense("acme");
  cli_->Ok({"query", "put", "--license", license, "--schedule-id", "big",
            "--status", "SUCCESS"});
  std::string input;
  input.reserve(100000 * 80);
  for (int i = 0; i < 100000; ++i) {
    input += "{\"date\":\"2026-11-01\",\"campaign\":\"c" +
             std::to_string(i % 97) + "\",\"clicks\":" + std::to_string(i) +
             "}\n";
  }
  auto start = std::chrono::steady_clock::now();
  std::string out = cli_->Ok({"rows", "load", "--schedule-id", "big"}, input);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("[ benchmark ] rows load of 100000 rows: %.2f s\n", seconds);
  RecordProperty("rows_load_100k_seconds", std::to_string(seconds));
  EXPECT_EQ(out, "100000");
  EXPECT_EQ(Count("result_rows"), "100000");
  EXPECT_LT(seconds, 10.0);
}

TEST_F(CliTest, QueueSetUpsertsAndValidates) {
  std::string license = cli_->NewLicense("acme");
  cli_->Ok({"queue", "set", "--license", license, "--scheduled", "4",
            "--running", "2"});
  cli_->Ok({"queue", "set", "--license", license, "--scheduled", "5",
            "--running", "1"});
  EXPECT_EQ(
      db_->Query(
          "SELECT tasks_scheduled || '/' || tasks_running FROM license_queues")
          [0],
      "5/1");
  EXPECT_EQ(cli_->Run({"queue", "set", "--license", "424242", "--scheduled",
                       "1", "--running", "1"})
                .exit_code,
            1);
  EXPECT_EQ(cli_->Run({"queue", "set", "--license", license, "--scheduled",
                       "1001", "--running", "1"})
                .exit_code,
            2);
  EXPECT_EQ(
      cli_->Run({"queue", "set", "--license", license, "--scheduled", "1"})
          .exit_code,
      2);
}

TEST_F(CliTest, UnknownCommandAndBadSettingAreUsageErrors) {
  EXPECT_EQ(cli_->Run({"frobnicate"}).exit_code, 2);
  auto bad = cli_->Run({"migrate", "--rate-limit", "0"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--rate-limit"), std::string::npos) << bad.err;
}

TEST_F(CliTest, DemoPrintsACurlThatAnswers200) {
  auto demo = cli_->Run({"demo", "--public-base-url", "http://127.0.0.1:1"});
  ASSERT_EQ(demo.exit_code, 0) << demo.err;
  EXPECT_EQ(demo.out.rfind("curl ", 0), 0u) << demo.out;
  // Running it twice is fine: the license and queries are reused.
  ASSERT_EQ(cli_->Run({"demo"}).exit_code, 0);
  EXPECT_EQ(Count("licenses"), "1");
  Service service(env_, db_->url(), env_.redis_url);
  // The printed command, pointed at this test's service.
  std::string cmd = demo.out.substr(0, demo.out.size() - 1);
  auto at = cmd.find("http://127.0.0.1:1/");
  ASSERT_NE(at, std::string::npos);
  cmd.replace(at, std::string("http://127.0.0.1:1").size(),
              "http://127.0.0.1:" + std::to_string(service.port()));
  auto r = RunProcess({"sh", "-c", cmd + " -o /dev/null -w '%{http_code}'"});
  EXPECT_EQ(r.out, "200") << r.err;
}

}  // namespace
}  // namespace qs::testing
