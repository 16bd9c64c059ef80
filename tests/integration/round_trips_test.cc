// The cost of one poll in backend round trips, measured on the servers
// themselves: with its key cached, a status poll is one PostgreSQL statement
// (the status read) and one Redis command (the counting script).
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/env.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

constexpr int kPolls = 50;

// "cmdstat_NAME:calls=N,..." lines of INFO commandstats, as NAME -> N.
std::map<std::string, long> CommandCalls(const RedisServer& redis) {
  std::istringstream in(redis.Cli({"INFO", "commandstats"}));
  std::map<std::string, long> calls;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("cmdstat_", 0) != 0) continue;
    auto colon = line.find(':');
    auto eq = line.find("calls=", colon);
    if (colon == std::string::npos || eq == std::string::npos) continue;
    calls[line.substr(8, colon - 8)] = std::stol(line.substr(eq + 6));
  }
  return calls;
}

class RoundTripsTest : public DatabaseTest {
 protected:
  RoundTripsTest() : DatabaseTest(/*own_redis=*/true) {}
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    std::string license = cli_->NewLicense("acme");
    token_ = cli_->NewKey(license);
    cli_->Ok({"query", "put", "--license", license, "--schedule-id", "q1",
              "--status", "SUCCESS", "--ready", "1", "--total", "1"});
    cli_->Ok({"rows", "load", "--schedule-id", "q1"}, "{\"a\":1}\n{\"a\":2}\n");
    cli_->Ok({"queue", "set", "--license", license, "--scheduled", "1",
              "--running", "1"});
  }

  // Polls sequentially; every poll must succeed.
  void Poll(const Service& service, int n) {
    for (int i = 0; i < n; ++i) {
      HttpResponse r =
          HttpGet(service.port(), StatusTarget("{\"schedule_id\":\"q1\"}"),
                  {{"Authorization", "Bearer " + token_}});
      ASSERT_EQ(r.status, 200) << r.body;
    }
  }

  std::string token_;
};

TEST_F(RoundTripsTest, CachedKeyPollIsOneRedisCommand) {
  Service service(env_, db_->url(), redis_->url(),
                  {"--key-cache-ttl-ms", "60000"});
  Poll(service, 3);  // connects, loads the script, caches the key
  auto before = CommandCalls(*redis_);
  Poll(service, kPolls);
  auto after = CommandCalls(*redis_);

  std::map<std::string, long> delta;
  for (const auto& [name, calls] : after) {
    long d = calls - (before.count(name) ? before.at(name) : 0);
    if (d != 0 && name != "info") delta[name] = d;
  }
  std::printf("[ round trips ] Redis commands for %d polls:", kPolls);
  for (const auto& [name, d] : delta) std::printf(" %s=%ld", name.c_str(), d);
  std::printf("\n");
  EXPECT_EQ(delta["evalsha"], kPolls);
  // INCR runs inside the script (Redis counts it too); EXPIREAT only on a
  // window's first hit, which the warm-up made. Nothing else may be sent.
  EXPECT_EQ(delta["incr"], kPolls);
  for (const auto& [name, d] : delta) {
    if (name == "evalsha" || name == "incr" || name == "expireat") continue;
    ADD_FAILURE() << "unexpected Redis command " << name << " x" << d;
  }
}

// Statements the service ran in the scratch database while `polls` ran, by
// pg_stat_statements when it is loaded (printed by statement), else by
// committed transactions (each autocommit statement is one). Our own
// statistics statements are left out.
class StatementCounter {
 public:
  StatementCounter(const TestEnv& env, const ScratchDatabase& db)
      : admin_(env.database_url), db_(db) {
    std::string preload = pqxx::nontransaction(admin_)
                              .exec1("SHOW shared_preload_libraries")[0]
                              .as<std::string>();
    by_statement_ = preload.find("pg_stat_statements") != std::string::npos;
    if (by_statement_) {
      db_.Query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT 1");
    }
  }

  bool by_statement() const { return by_statement_; }

  // `exclude`: a SQL condition on pg_stat_statements.query for statements
  // that are not the service's round trips for requests.
  long During(const std::function<void()>& polls,
              const std::string& exclude = "false") {
    if (by_statement_) {
      db_.Query("SELECT pg_stat_statements_reset()");
      polls();
      auto rows = db_.Query(
          "SELECT calls || ' x ' || regexp_replace(left(query, 70), '\\s+', ' "
          "', 'g') "
          "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
          "WHERE d.datname = current_database() "
          "AND query NOT ILIKE '%pg_stat_statements%' AND NOT (" +
          exclude +
          ") "
          "ORDER BY calls DESC");
      long calls = 0;
      std::printf(
          "[ round trips ] PostgreSQL statements (pg_stat_statements):\n");
      for (const auto& row : rows) {
        std::printf("  %s\n", row.c_str());
        calls += std::stol(row.substr(0, row.find(' ')));
      }
      return calls;
    }
    long before = StableCommits();
    polls();
    long after = StableCommits();
    std::printf(
        "[ round trips ] PostgreSQL transactions (pg_stat_database): %ld\n",
        after - before);
    return after - before;
  }

 private:
  long Commits() {
    pqxx::nontransaction tx(admin_);
    tx.exec("SELECT pg_stat_clear_snapshot()");
    return tx
        .exec1("SELECT xact_commit FROM pg_stat_database WHERE datname = " +
               tx.quote(db_.name()))[0]
        .as<long>();
  }

  // Backends report their counts lazily: an idle backend flushes what it
  // has pending within 10 s (PostgreSQL 15's PGSTAT_IDLE_INTERVAL). Only
  // the fallback pays this wait.
  long StableCommits() {
    std::this_thread::sleep_for(std::chrono::milliseconds(11000));
    return Commits();
  }

  pqxx::connection admin_;
  const ScratchDatabase& db_;
  bool by_statement_ = false;
};

TEST_F(RoundTripsTest, UncachedStatusPollIsOnePostgresStatement) {
  // The status cache off: every poll reads the status from PostgreSQL.
  Service service(env_, db_->url(), redis_->url(),
                  {"--key-cache-ttl-ms", "60000", "--status-cache-bytes", "0"});
  StatementCounter counter(env_, *db_);
  Poll(service, 3);
  long statements = counter.During([&] { Poll(service, kPolls); });
  std::printf("[ round trips ] %d polls, status cache off: %ld statements\n",
              kPolls, statements);
  EXPECT_EQ(statements, kPolls);
}

TEST_F(RoundTripsTest, CachedStatusPollIsAtMostOnePostgresStatement) {
  Service service(env_, db_->url(), redis_->url(),
                  {"--key-cache-ttl-ms", "60000"});
  StatementCounter counter(env_, *db_);
  ASSERT_TRUE(counter.by_statement())
      << "this check needs pg_stat_statements in shared_preload_libraries "
         "(tests/run "
         "starts PostgreSQL so): the status cache's listener commits on its "
         "own";
  Poll(service, 3);
  // The cache's change listener runs its own statements on its own
  // connection (LISTEN, a heartbeat SELECT 1): not request round trips.
  long statements = counter.During(
      [&] { Poll(service, kPolls); },
      "query ~* '^(LISTEN|UNLISTEN|SET statement_timeout|SELECT \\$1$)'");
  std::printf("[ round trips ] %d polls, status cache on: %ld statements\n",
              kPolls, statements);
  EXPECT_LE(statements, kPolls);
}

}  // namespace
}  // namespace qs::testing
