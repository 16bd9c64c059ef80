#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "config/config.h"
#include "config/flags.h"

namespace qs::config {
namespace {

Result<Config> LoadDatabaseUrl(const std::string& url) {
  auto flags = Flags::Parse({"--database-url", url});
  EXPECT_TRUE(flags.ok());
  return Load(flags.value(),
              [](const std::string&) -> std::optional<std::string> {
                return std::nullopt;
              });
}

TEST(DatabaseUrlSettingTest, AcceptsLibpqUrisAndConninfoStrings) {
  for (const char* url :
       {"postgresql://postgres@127.0.0.1:5432/qs",
        "postgres://u:p%40ss@h1:5432,h2:5433/db?sslmode=prefer",
        "postgresql://u@h/db?password=secret",
        "host=h port=5432 dbname=db user=u password='se cret'"}) {
    auto c = LoadDatabaseUrl(url);
    ASSERT_TRUE(c.ok()) << url << ": " << c.error().detail;
    EXPECT_EQ(c.value().database_url, url);
  }
}

TEST(DatabaseUrlSettingTest,
     RefusesWhatLibpqWouldReadDifferentlyWithoutEchoingIt) {
  for (const char* url : {
           // libpq reads "secretpw" as the port: the userinfo ends at '/'.
           "postgresql://u:secretpw/x@h/db",
           // libpq cannot parse it and would quote "secretpw" in its error.
           "host=h password=se secretpw",
           "host=h password='secretpw",
       }) {
    auto c = LoadDatabaseUrl(url);
    ASSERT_FALSE(c.ok()) << url;
    EXPECT_NE(c.error().detail.find("--database-url"), std::string::npos);
    EXPECT_EQ(c.error().detail.find("secretpw"), std::string::npos)
        << c.error().detail;
  }
}

}  // namespace
}  // namespace qs::config
