#include <gtest/gtest.h>

#include <chrono>

#include "store/pg_pool.h"

namespace qs::store {
namespace {

TEST(ConninfoTest, AnOptionJoinsAUriAsAQueryParameter) {
  EXPECT_EQ(WithOption("postgresql://h/db", "application_name=x"),
            "postgresql://h/db?application_name=x");
  EXPECT_EQ(WithOption("postgres://h/db?sslmode=disable", "application_name=x"),
            "postgres://h/db?sslmode=disable&application_name=x");
}

TEST(ConninfoTest, AnOptionJoinsKeyValueFormAfterASpace) {
  EXPECT_EQ(WithOption("host=h dbname=db", "application_name=x"),
            "host=h dbname=db application_name=x");
  // Only libpq's two exact prefixes make a URI.
  EXPECT_EQ(WithOption("POSTGRES://h/db", "a=1"), "POSTGRES://h/db a=1");
}

TEST(ConninfoTest, TimeoutsAreAddedButTheOperatorsOwnValuesWin) {
  std::string uri = WithTimeouts("postgresql://h/db?connect_timeout=9",
                                 std::chrono::milliseconds(2500));
  EXPECT_EQ(uri,
            "postgresql://h/db?connect_timeout=9&tcp_user_timeout=2500"
            "&keepalives=1&keepalives_idle=10&keepalives_interval=5"
            "&keepalives_count=3");
  EXPECT_EQ(WithTimeouts("host=h", std::chrono::milliseconds(500)),
            "host=h connect_timeout=2 tcp_user_timeout=500 keepalives=1 "
            "keepalives_idle=10 keepalives_interval=5 keepalives_count=3");
}

}  // namespace
}  // namespace qs::store
