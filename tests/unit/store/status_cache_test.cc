#include "store/status_cache.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "fakes/fake_clock.h"
#include "fakes/fake_query_store.h"

namespace qs::store {
namespace {

using qs::testing::FakeClock;
using qs::testing::FakeQueryStore;
using std::chrono::milliseconds;

class StatusCacheTest : public ::testing::Test {
 protected:
  StatusCacheTest()
      : cache_(backend_, clock_, metrics_, {1 << 20, milliseconds(750)}) {
    backend_.Put("q1", 1, Snapshot(QueryStatusCode::kRunning));
    cache_.MarkLive();
  }
  static StatusSnapshot Snapshot(QueryStatusCode code, std::string rows = "") {
    StatusSnapshot s;
    s.status = code;
    s.rows_json = std::move(rows);
    return s;
  }
  Result<SnapshotPtr> Read(const std::string& sid = "q1", int64_t license = 1) {
    return cache_.ReadStatus({license, sid, 0, 99});
  }

  FakeClock clock_;
  metrics::Metrics metrics_;
  FakeQueryStore backend_;
  CachingQueryStore cache_;
};

TEST_F(StatusCacheTest, SecondReadIsServedFromMemory) {
  ASSERT_TRUE(Read().ok());
  ASSERT_TRUE(Read().ok());
  EXPECT_EQ(backend_.reads.load(), 1);
  EXPECT_EQ(metrics_.StatusCache(metrics::CacheResult::kHit).Value(), 1);
  EXPECT_EQ(metrics_.StatusCache(metrics::CacheResult::kMiss).Value(), 1);
}

TEST_F(StatusCacheTest, QueryNotificationDropsTheEntry) {
  ASSERT_TRUE(Read().ok());
  backend_.Put("q1", 1, Snapshot(QueryStatusCode::kSuccess));
  cache_.Invalidate("q:q1");
  auto r = Read();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()->status, QueryStatusCode::kSuccess);
  EXPECT_EQ(backend_.reads.load(), 2);
}

TEST_F(StatusCacheTest, LicenseNotificationDropsThatLicensesEntriesOnly) {
  backend_.Put("q2", 2, Snapshot(QueryStatusCode::kQueued));
  ASSERT_TRUE(Read("q1", 1).ok());
  ASSERT_TRUE(Read("q2", 2).ok());
  cache_.Invalidate("l:1");
  ASSERT_TRUE(Read("q1", 1).ok());
  ASSERT_TRUE(Read("q2", 2).ok());
  EXPECT_EQ(backend_.reads.load(), 3);  // q1 twice, q2 once
}

TEST_F(StatusCacheTest, NotFoundIsCachedUntilTheQueryAppears) {
  EXPECT_EQ(Read("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Read("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(backend_.reads.load(), 1);
  backend_.Put("nope", 1, Snapshot(QueryStatusCode::kScheduled));
  cache_.Invalidate("q:nope");
  EXPECT_TRUE(Read("nope").ok());
}

TEST_F(StatusCacheTest, ReadsGoToTheDatabaseWhileTheFeedIsDown) {
  ASSERT_TRUE(Read().ok());
  cache_.SetDisconnected();
  ASSERT_TRUE(Read().ok());
  ASSERT_TRUE(Read().ok());
  EXPECT_EQ(backend_.reads.load(), 3);
  EXPECT_EQ(metrics_.StatusCache(metrics::CacheResult::kBypass).Value(), 2);
}

TEST_F(StatusCacheTest, ReadsGoToTheDatabaseWhenHeartbeatsStop) {
  ASSERT_TRUE(Read().ok());
  clock_.Advance(milliseconds(800));  // no MarkLive for longer than freshness
  ASSERT_TRUE(Read().ok());
  EXPECT_EQ(backend_.reads.load(), 2);
  // Same connection again: notifications queued meanwhile are applied before
  // MarkLive, so what is cached is still right and is used again.
  cache_.MarkLive();
  ASSERT_TRUE(Read().ok());
  EXPECT_EQ(backend_.reads.load(), 2);
}

TEST_F(StatusCacheTest, ReconnectStartsFromAnEmptyCache) {
  ASSERT_TRUE(Read().ok());
  cache_.SetDisconnected();
  // A change while disconnected: its notification is lost.
  backend_.Put("q1", 1, Snapshot(QueryStatusCode::kFailure));
  cache_.MarkLive();
  EXPECT_EQ(Read().value()->status, QueryStatusCode::kFailure);
}

TEST_F(StatusCacheTest, ReadRacingAnInvalidationIsNotKept) {
  backend_.DuringRead([&] {
    backend_.DuringRead(nullptr);
    cache_.Invalidate("q:q1");  // a change commits while the read is out
  });
  ASSERT_TRUE(Read().ok());
  ASSERT_TRUE(Read().ok());
  EXPECT_EQ(backend_.reads.load(), 2);
}

TEST_F(StatusCacheTest, ExpiredResultIsReadAgain) {
  auto s = Snapshot(QueryStatusCode::kSuccess);
  s.visible_until_unix = clock_.NowUnixSeconds() + 10;
  backend_.Put("q1", 1, s);
  ASSERT_TRUE(Read().ok());
  ASSERT_TRUE(Read().ok());
  EXPECT_EQ(backend_.reads.load(), 1);
  clock_.SetUnix(clock_.NowUnixSeconds() + 10);
  cache_.MarkLive();
  ASSERT_TRUE(Read().ok());
  EXPECT_EQ(backend_.reads.load(), 2);
}

TEST_F(StatusCacheTest, ErrorsAreNotCached) {
  backend_.FailWith(Error::Unavailable("db down"));
  EXPECT_EQ(Read().error().code, ErrorCode::kUnavailable);
  backend_.FailWith(std::nullopt);
  EXPECT_TRUE(Read().ok());
  EXPECT_EQ(backend_.reads.load(), 2);
}

TEST_F(StatusCacheTest, StaysWithinItsByteBudget) {
  for (int i = 0; i < 100; ++i) {
    std::string sid = "big" + std::to_string(i);
    backend_.Put(sid, 1,
                 Snapshot(QueryStatusCode::kSuccess, std::string(50000, 'x')));
    ASSERT_TRUE(Read(sid).ok());
    EXPECT_LE(cache_.bytes(), size_t{1 << 20});
  }
  EXPECT_GT(cache_.bytes(), 0u);
}

}  // namespace
}  // namespace qs::store
