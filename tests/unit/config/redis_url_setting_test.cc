#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "config/config.h"
#include "config/flags.h"

namespace qs::config {
namespace {

Result<Config> LoadRedisUrl(const std::string& url) {
  auto flags = Flags::Parse({"--redis-url", url});
  EXPECT_TRUE(flags.ok());
  return Load(flags.value(),
              [](const std::string&) -> std::optional<std::string> {
                return std::nullopt;
              });
}

TEST(RedisUrlSettingTest, KeepsTheParsedUrlOfOneNodeOrOfAClusterSeeds) {
  auto one = LoadRedisUrl("redis://:pw@cache:6380/2");
  ASSERT_TRUE(one.ok()) << one.error().internal;
  EXPECT_FALSE(one.value().redis.cluster);
  ASSERT_EQ(one.value().redis.nodes.size(), 1u);
  EXPECT_EQ(one.value().redis.nodes[0].ToString(), "cache:6380");
  EXPECT_EQ(one.value().redis.db, 2);
  EXPECT_EQ(one.value().redis.password, "pw");

  auto cluster = LoadRedisUrl("redis-cluster://a:7000,b:7001");
  ASSERT_TRUE(cluster.ok()) << cluster.error().internal;
  EXPECT_TRUE(cluster.value().redis.cluster);
  ASSERT_EQ(cluster.value().redis.nodes.size(), 2u);
  EXPECT_EQ(cluster.value().redis.nodes[1].ToString(), "b:7001");
}

TEST(RedisUrlSettingTest, DefaultIsTheLocalNode) {
  Config c;
  EXPECT_EQ(c.redis.url, c.redis_url);
  ASSERT_EQ(c.redis.nodes.size(), 1u);
  EXPECT_EQ(c.redis.nodes[0].ToString(), "localhost:6379");
}

// A URL that starts right but does not parse stops the process at start-up,
// naming the setting, not later when the counter is built (and never with
// the password in the message).
TEST(RedisUrlSettingTest, RefusesAUrlThatDoesNotParseWithoutEchoingIt) {
  for (const char* url : {"redis-cluster://:hunter2@h:1,h:99999",
                          "redis://:hunter2@h:port", "redis-cluster://",
                          "redis://:hunter2@h/db"}) {
    auto c = LoadRedisUrl(url);
    ASSERT_FALSE(c.ok()) << url;
    EXPECT_NE(c.error().detail.find("redis-url"), std::string::npos)
        << c.error().detail;
    EXPECT_EQ(c.error().internal.find("hunter2"), std::string::npos);
    EXPECT_EQ(c.error().detail.find("hunter2"), std::string::npos);
  }
}

}  // namespace
}  // namespace qs::config
