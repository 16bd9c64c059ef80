#include <gtest/gtest.h>

#include <string>

#include "log/redact.h"

namespace qs::log {
namespace {

TEST(RedactUrlTest, HidesTheUserinfoPassword) {
  EXPECT_EQ(RedactUrl("postgresql://app:s3cret@db:5432/qs"),
            "postgresql://app:***@db:5432/qs");
  EXPECT_EQ(RedactUrl("redis://:s3cret@localhost:6379/0"),
            "redis://:***@localhost:6379/0");
}

TEST(RedactUrlTest, HidesAllOfAPasswordWithAnAtSign) {
  // The Redis URL parser splits at the last '@' before the path.
  EXPECT_EQ(RedactUrl("redis://:ab@secret@host:6379"),
            "redis://:***@host:6379");
}

TEST(RedactUrlTest, HidesPasswordQueryParameters) {
  EXPECT_EQ(RedactUrl("postgresql://db/qs?sslmode=require&password=s3cret"),
            "postgresql://db/qs?sslmode=require&password=***");
  EXPECT_EQ(RedactUrl("postgresql:///qs?password=s3cret&host=db"),
            "postgresql:///qs?password=***&host=db");
  EXPECT_EQ(RedactUrl("postgresql://db/qs?pass%77ord=s3cret"),
            "postgresql://db/qs?pass%77ord=***");
  EXPECT_EQ(RedactUrl("postgresql://db/qs?sslpassword=s3cret"),
            "postgresql://db/qs?sslpassword=***");
}

TEST(RedactUrlTest, HidesConninfoPasswordsInEveryForm) {
  // Conninfo strings are rebuilt from libpq's own parse, so only what
  // matters is checked: the secret is gone, the rest of the setting stays.
  for (const char* s :
       {"host=db password=s3cret dbname=qs",
        "host=db password = s3cret dbname=qs",
        "host=db password='s3cret cr\\'et' dbname=qs",
        "password=s3cret host=db password=s3cret", "host=db sslpassword=s3cret",
        "host=db password=s3cret://x", "host=db password s3cret"}) {
    std::string redacted = RedactUrl(s);
    EXPECT_EQ(redacted.find("s3cret"), std::string::npos) << s;
  }
  EXPECT_NE(RedactUrl("host=db password=s3cret dbname=qs").find("host=db"),
            std::string::npos);
}

TEST(RedactUrlTest, LeavesUrisWithoutAPasswordAlone) {
  for (const char* s :
       {"postgresql://localhost/querystatus", "redis://localhost:6379/0",
        "postgresql://app@db/qs?sslmode=require"}) {
    EXPECT_EQ(RedactUrl(s), s);
  }
}

}  // namespace
}  // namespace qs::log
