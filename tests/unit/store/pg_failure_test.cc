#include "store/pg_failure.h"

#include <gtest/gtest.h>

#include <pqxx/except>
#include <stdexcept>

namespace qs::store {
namespace {

using Kind = PgFailure::Kind;

TEST(PgFailureTest, ALostConnectionIsUnavailableAndDiscarded) {
  for (const char* state : {"", "57014", "42P01"}) {
    PgFailure f = ClassifyPgFailure(false, state);
    EXPECT_EQ(f.kind, Kind::kConnectionLost) << state;
    EXPECT_EQ(f.code, ErrorCode::kUnavailable) << state;
    EXPECT_TRUE(f.discard) << state;
  }
}

TEST(PgFailureTest, AStatementTimeoutIsUnavailableButKeepsTheConnection) {
  PgFailure f = ClassifyPgFailure(true, "57014");
  EXPECT_EQ(f.kind, Kind::kNotAnswering);
  EXPECT_EQ(f.code, ErrorCode::kUnavailable);
  EXPECT_FALSE(f.discard);
}

TEST(PgFailureTest,
     ShutdownsAndConnectionExceptionsAreUnavailableAndDiscarded) {
  for (const char* state : {"57P01", "57P02", "57P03", "08006", "08P01"}) {
    PgFailure f = ClassifyPgFailure(true, state);
    EXPECT_EQ(f.kind, Kind::kNotAnswering) << state;
    EXPECT_EQ(f.code, ErrorCode::kUnavailable) << state;
    EXPECT_TRUE(f.discard) << state;
  }
}

TEST(PgFailureTest, OtherSqlstatesAreInternalAndKeepTheConnection) {
  for (const char* state : {"42P01", "23505", "57000", "0A000", "XX000"}) {
    PgFailure f = ClassifyPgFailure(true, state);
    EXPECT_EQ(f.kind, Kind::kStatementFailed) << state;
    EXPECT_EQ(f.code, ErrorCode::kInternal) << state;
    EXPECT_FALSE(f.discard) << state;
  }
}

TEST(PgFailureTest, NoSqlstateOnALiveConnectionIsInternalAndDiscarded) {
  PgFailure f = ClassifyPgFailure(true, "");
  EXPECT_EQ(f.kind, Kind::kClientError);
  EXPECT_EQ(f.code, ErrorCode::kInternal);
  EXPECT_TRUE(f.discard);
}

TEST(PgFailureTest, ABrokenConnectionExceptionIsUnavailable) {
  Error e = PqxxError(pqxx::broken_connection("server closed the connection"));
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_EQ(e.internal,
            "PostgreSQL connection failed: server closed the connection");
}

TEST(PgFailureTest, AnSqlErrorIsReadByItsSqlstateAsThePoolReadsIt) {
  Error timeout =
      PqxxError(pqxx::sql_error("canceling statement", "SELECT 1", "57014"));
  EXPECT_EQ(timeout.code, ErrorCode::kUnavailable);
  Error shutdown =
      PqxxError(pqxx::sql_error("terminating connection", "", "57P01"));
  EXPECT_EQ(shutdown.code, ErrorCode::kUnavailable);

  Error missing =
      PqxxError(pqxx::sql_error("relation does not exist", "", "42P01"));
  EXPECT_EQ(missing.code, ErrorCode::kInternal);
  EXPECT_EQ(missing.detail, "database error");
  EXPECT_EQ(missing.internal,
            "PostgreSQL error 42P01: relation does not exist");
}

TEST(PgFailureTest, AnExceptionNotFromPostgresIsInternal) {
  Error e = PqxxError(std::runtime_error("bad conversion"));
  EXPECT_EQ(e.code, ErrorCode::kInternal);
  EXPECT_EQ(e.internal, "bad conversion");
}

}  // namespace
}  // namespace qs::store
