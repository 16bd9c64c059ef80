#include <gtest/gtest.h>

#include <string>

#include "log/log.h"

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
  EXPECT_EQ(RedactUrl("host=db password=s3cret dbname=qs"),
            "host=db password=*** dbname=qs");
  EXPECT_EQ(RedactUrl("host=db password = s3cret dbname=qs"),
            "host=db password = *** dbname=qs");
  EXPECT_EQ(RedactUrl("host=db password='s3 cr\\'et' dbname=qs"),
            "host=db password=*** dbname=qs");
  EXPECT_EQ(RedactUrl("password=first host=db password=second"),
            "password=*** host=db password=***");
  EXPECT_EQ(RedactUrl("host=db sslpassword=s3cret"), "host=db sslpassword=***");
}

TEST(RedactUrlTest, ReadsConninfoWithASchemeLikeValueAsConninfo) {
  EXPECT_EQ(RedactUrl("host=db password=s3://cret"), "host=db password=***");
}

TEST(RedactUrlTest, DropsWhatFollowsMalformedConninfoNamingAPassword) {
  EXPECT_EQ(RedactUrl("host=db password s3cret"), "host=db ***");
}

TEST(RedactUrlTest, LeavesSettingsWithoutAPasswordAlone) {
  for (const char* s :
       {"postgresql://localhost/querystatus", "redis://localhost:6379/0",
        "postgresql://app@db/qs?sslmode=require", "host=db dbname=qs user=app",
        "host=db application_name='a b'", "", "not a url"}) {
    EXPECT_EQ(RedactUrl(s), s);
  }
}

}  // namespace
}  // namespace qs::log
