#include "ratelimit/redis_cluster.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>

#include "ratelimit/redis_window_counter.h"

namespace qs::ratelimit {
namespace {

struct ReplyDeleter {
  void operator()(void* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// The reply that `resp` (bytes as Redis sends them) reads as.
ReplyPtr Read(const std::string& resp) {
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, resp.data(), resp.size());
  void* raw = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &raw), REDIS_OK);
  redisReaderFree(reader);
  EXPECT_NE(raw, nullptr) << "incomplete reply";
  return ReplyPtr(static_cast<redisReply*>(raw));
}

// One CLUSTER SLOTS entry in RESP.
std::string Range(int first, int last, const std::string& host, int port) {
  return "*3\r\n:" + std::to_string(first) + "\r\n:" + std::to_string(last) +
         "\r\n*3\r\n$" + std::to_string(host.size()) + "\r\n" + host +
         "\r\n:" + std::to_string(port) + "\r\n$2\r\nid\r\n";
}

const NodeAddress kAsked{"10.0.0.9", 7009};

TEST(RedisClusterTest, Crc16IsXmodem) {
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Crc16(""), 0);
}

TEST(RedisClusterTest, KeySlotsMatchRedis) {
  // As CLUSTER KEYSLOT answers.
  EXPECT_EQ(KeySlot("foo"), 12182);
  EXPECT_EQ(KeySlot("123456789"), 0x31C3 % kClusterSlots);
}

TEST(RedisClusterTest, HashTagDecidesTheSlot) {
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  // Only the first '{' and the first '}' after it count.
  EXPECT_EQ(KeySlot("foo{bar}{zap}"), KeySlot("bar"));
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), KeySlot("{bar"));
  // An empty tag, or none closed, hashes the whole key.
  EXPECT_EQ(KeySlot("foo{}{bar}"), Crc16("foo{}{bar}") % kClusterSlots);
  EXPECT_EQ(KeySlot("foo{bar"), Crc16("foo{bar") % kClusterSlots);
}

TEST(RedisClusterTest, EveryWindowOfABucketSharesItsSlot) {
  std::string a = RedisWindowCounter::WindowKey(true, "a:10.0.0.1", 3600);
  std::string b = RedisWindowCounter::WindowKey(true, "a:10.0.0.1", 7200);
  EXPECT_EQ(a, "qs:rl:{a:10.0.0.1}:3600");
  EXPECT_EQ(KeySlot(a), KeySlot(b));
  EXPECT_EQ(KeySlot(a), KeySlot("a:10.0.0.1"));
  // One node keeps the names it always had.
  EXPECT_EQ(RedisWindowCounter::WindowKey(false, "a:10.0.0.1", 3600),
            "qs:rl:a:10.0.0.1:3600");
}

TEST(RedisClusterTest, SlotsReplyMapsEverySlotToItsMaster) {
  ReplyPtr r = Read("*3\r\n" + Range(0, 5460, "127.0.0.1", 7000) +
                    Range(5461, 10922, "127.0.0.1", 7001) +
                    Range(10923, 16383, "", 7002));
  Result<SlotMap> map = ParseClusterSlots(*r, kAsked);
  ASSERT_TRUE(map.ok()) << map.error().internal;
  ASSERT_EQ(map.value().masters().size(), 3u);
  EXPECT_EQ(map.value().MasterOf(0)->ToString(), "127.0.0.1:7000");
  EXPECT_EQ(map.value().MasterOf(5461)->ToString(), "127.0.0.1:7001");
  // An empty host is the node that answered.
  EXPECT_EQ(map.value().MasterOf(16383)->ToString(), "10.0.0.9:7002");
  EXPECT_EQ(map.value().MasterOf(16384), nullptr);
  EXPECT_EQ(map.value().MasterOf(-1), nullptr);
}

TEST(RedisClusterTest, UnservedAndUnknownSlotsHaveNoMaster) {
  ReplyPtr r = Read("*2\r\n" + Range(0, 99, "h", 1) + Range(100, 199, "?", 2));
  Result<SlotMap> map = ParseClusterSlots(*r, kAsked);
  ASSERT_TRUE(map.ok()) << map.error().internal;
  EXPECT_NE(map.value().MasterOf(99), nullptr);
  EXPECT_EQ(map.value().MasterOf(100), nullptr);
  EXPECT_EQ(map.value().MasterOf(200), nullptr);
}

TEST(RedisClusterTest, MovedRepointsOneSlot) {
  ReplyPtr r = Read("*1\r\n" + Range(0, 16383, "a", 1));
  Result<SlotMap> map = ParseClusterSlots(*r, kAsked);
  ASSERT_TRUE(map.ok());
  map.value().Assign(42, {"b", 2});
  EXPECT_EQ(map.value().MasterOf(42)->ToString(), "b:2");
  EXPECT_EQ(map.value().MasterOf(43)->ToString(), "a:1");
  EXPECT_EQ(map.value().masters().size(), 2u);
}

TEST(RedisClusterTest, GarbageSlotsRepliesAreErrorsNotCrashes) {
  for (const std::string& bad : {
           std::string(":1\r\n"),
           std::string("-ERR This instance has cluster support disabled\r\n"),
           std::string("*1\r\n:1\r\n"),
           std::string("*1\r\n*2\r\n:0\r\n:1\r\n"),
           std::string("*1\r\n*3\r\n:5\r\n:4\r\n*2\r\n$1\r\nh\r\n:1\r\n"),
           std::string("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n"),
           std::string("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n:1\r\n:1\r\n"),
           std::string("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:70000\r\n"),
           std::string("*1\r\n*3\r\n:0\r\n:1\r\n*1\r\n$1\r\nh\r\n"),
           std::string("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$3\r\nh h\r\n:1\r\n"),
           std::string("*1\r\n*3\r\n:0\r\n:1\r\n$-1\r\n"),
           "*2\r\n" + Range(0, 10, "a", 1) + Range(10, 20, "b", 2),
       }) {
    ReplyPtr r = Read(bad);
    ASSERT_TRUE(r);
    Result<SlotMap> map = ParseClusterSlots(*r, kAsked);
    EXPECT_FALSE(map.ok()) << bad;
    if (!map.ok()) {
      EXPECT_EQ(map.error().code, ErrorCode::kUnavailable);
    }
  }
}

}  // namespace
}  // namespace qs::ratelimit
