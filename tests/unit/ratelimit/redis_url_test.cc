#include <gtest/gtest.h>

#include <string>

#include "ratelimit/redis_window_counter.h"

namespace qs::ratelimit {
namespace {

RedisOptions MustParse(const std::string& url) {
  auto r = RedisWindowCounter::ParseRedisUrl(url);
  EXPECT_TRUE(r.ok()) << url << ": " << (r.ok() ? "" : r.error().internal);
  return r.ok() ? r.value() : RedisOptions{};
}

TEST(RedisUrlTest, HostOnlyGetsTheDefaults) {
  RedisOptions o = MustParse("redis://cache.internal");
  EXPECT_EQ(o.host, "cache.internal");
  EXPECT_EQ(o.port, 6379);
  EXPECT_EQ(o.db, 0);
  EXPECT_EQ(o.user, "");
  EXPECT_EQ(o.password, "");
  EXPECT_EQ(o.url, "redis://cache.internal");
}

TEST(RedisUrlTest, PortAndDb) {
  RedisOptions o = MustParse("redis://127.0.0.1:6380/3");
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 6380);
  EXPECT_EQ(o.db, 3);
  EXPECT_EQ(MustParse("redis://h/").db, 0);
}

TEST(RedisUrlTest, PasswordOnlyAndUserWithPassword) {
  RedisOptions a = MustParse("redis://:s3cret@h:1");
  EXPECT_EQ(a.user, "");
  EXPECT_EQ(a.password, "s3cret");
  RedisOptions b = MustParse("redis://app:p%40ss%3Aword@h");
  EXPECT_EQ(b.user, "app");
  EXPECT_EQ(b.password, "p@ss:word");
  EXPECT_EQ(b.host, "h");
}

TEST(RedisUrlTest, BracketedIpv6) {
  RedisOptions o = MustParse("redis://[::1]:7000/1");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 7000);
  EXPECT_EQ(o.db, 1);
}

TEST(RedisUrlTest, RejectsEverythingElse) {
  for (const char* bad : {
           "",
           "127.0.0.1:6379",
           "http://h",
           "rediss://h",
           "unix:///tmp/redis.sock",
           "redis://",
           "redis://:6379",
           "redis://h:0",
           "redis://h:65536",
           "redis://h:port",
           "redis://h:",
           "redis://h/db",
           "redis://h/-1",
           "redis://h/0/1",
           "redis://h?timeout=1",
           "redis://h#x",
           "redis://password@h",
           "redis://user:@h",
           "redis://:%zz@h",
           "redis://[::1",
           "redis://h h",
       }) {
    auto r = RedisWindowCounter::ParseRedisUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_FALSE(r.error().internal.empty()) << bad;
  }
}

TEST(RedisUrlTest, ClusterUrlListsItsSeedNodes) {
  RedisOptions o = MustParse(
      "redis-cluster://app:p%40ss@10.0.0.1:7000,[::1]:7001,cache.internal");
  EXPECT_TRUE(o.cluster);
  ASSERT_EQ(o.seeds.size(), 3u);
  EXPECT_EQ(o.seeds[0].ToString(), "10.0.0.1:7000");
  EXPECT_EQ(o.seeds[1].ToString(), "::1:7001");
  EXPECT_EQ(o.seeds[2].ToString(), "cache.internal:6379");
  EXPECT_EQ(o.host, "10.0.0.1");
  EXPECT_EQ(o.port, 7000);
  EXPECT_EQ(o.user, "app");
  EXPECT_EQ(o.password, "p@ss");
  EXPECT_EQ(o.db, 0);
  EXPECT_TRUE(MustParse("redis-cluster://h:1/0").cluster);
  EXPECT_FALSE(MustParse("redis://h:1").cluster);
  EXPECT_TRUE(MustParse("redis://h:1").seeds.empty());
}

TEST(RedisUrlTest, RejectsBadClusterUrls) {
  std::string too_many = "redis-cluster://h:1";
  for (int i = 0; i < 64; ++i) too_many += ",h:1";
  for (const std::string& bad : {
           std::string("redis-cluster://"),
           std::string("redis-cluster://h:1,"),
           std::string("redis-cluster://,h:1"),
           std::string("redis-cluster://h:1,,h:2"),
           std::string("redis-cluster://h:1,h:0"),
           std::string("redis-cluster://h:1,h h"),
           std::string("redis-cluster://h:1/1"),
           std::string("redis-cluster://h:1?x=1"),
           std::string("rediss-cluster://h:1"),
           std::string("redis-cluster://:@h:1"),
           too_many,
       }) {
    auto r = RedisWindowCounter::ParseRedisUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_FALSE(r.error().internal.empty()) << bad;
  }
  auto r =
      RedisWindowCounter::ParseRedisUrl("redis-cluster://:hunter2@h:1,h:99999");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().internal.find("hunter2"), std::string::npos);
  EXPECT_NE(r.error().internal.find("seed node 2"), std::string::npos);
}

TEST(RedisUrlTest, ErrorsNeverEchoThePassword) {
  auto r = RedisWindowCounter::ParseRedisUrl("redis://:hunter2@h:99999");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().internal.find("hunter2"), std::string::npos);
  EXPECT_EQ(r.error().detail.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace qs::ratelimit
