// The PostgreSQL connection pool against the real server: a statement that
// throws gives its connection back, so the pool keeps its size.
#include <gtest/gtest.h>

#include <new>

#include "metrics/metrics.h"
#include "store/pg_pool.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

class PgPoolTest : public DatabaseTest {};

TEST_F(PgPoolTest, AStatementThatThrowsGivesItsConnectionBack) {
  metrics::Metrics metrics;
  store::PgPoolOptions options;
  options.url = db_->url();
  options.size = 1;
  options.timeout = std::chrono::milliseconds(500);
  store::PgPool pool(options, nullptr, metrics);

  auto thrown = pool.Run(metrics::PostgresOperation::kPing,
                         [](store::PgConnection&) -> store::PgRows {
                           throw std::bad_alloc();
                         });
  ASSERT_FALSE(thrown.ok());
  EXPECT_EQ(thrown.error().code, ErrorCode::kInternal);

  // One connection: if the throw had kept it, this would wait out the
  // timeout and fail.
  EXPECT_TRUE(pool.Ping().ok());
  EXPECT_TRUE(pool.Ping().ok());
}

}  // namespace
}  // namespace qs::testing
