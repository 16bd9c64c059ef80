// The wait room alone: what wakes a held request, and what it refuses to
// hold.
#include "api/wait_room.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics.h"

namespace qs::api {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Records every batch the room lets go.
class RecordingSink final : public WakeSink {
 public:
  struct Batch {
    std::vector<std::string> keys;
    WakeReason why;
  };
  void Wake(std::vector<std::shared_ptr<HeldRequest>> woken, WakeReason why,
            Clock::time_point) override {
    std::lock_guard<std::mutex> lock(mu_);
    Batch b{{}, why};
    for (auto& h : woken) b.keys.push_back(h->key);
    batches_.push_back(std::move(b));
  }
  std::vector<Batch> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }

 private:
  std::mutex mu_;
  std::vector<Batch> batches_;
};

class WaitRoomTest : public ::testing::Test {
 protected:
  explicit WaitRoomTest(WaitRoomOptions options = {4, 2, milliseconds(20)})
      : room_(options, metrics_) {
    room_.SetSink(&sink_);
    room_.FeedUp();
  }

  static std::shared_ptr<HeldRequest> Request(
      const std::string& key, const std::string& query, int64_t license,
      Clock::duration wait = seconds(60)) {
    auto r = std::make_shared<HeldRequest>();
    r->key = key;
    r->query_topic = "q:" + query;
    r->license_topic = "l:" + std::to_string(license);
    r->group = query;
    r->until = Clock::now() + wait;
    return r;
  }

  double Held() { return metrics_.held_requests().Value(); }

  metrics::Metrics metrics_;
  RecordingSink sink_;
  WaitRoom room_;
};

TEST_F(WaitRoomTest, AChangeOfTheQueryWakesOnlyTheRequestsHeldForIt) {
  ASSERT_EQ(room_.Hold(Request("k1", "a", 1)), WaitRoom::Admission::kHeld);
  ASSERT_EQ(room_.Hold(Request("k2", "a", 2)), WaitRoom::Admission::kHeld);
  ASSERT_EQ(room_.Hold(Request("k3", "b", 1)), WaitRoom::Admission::kHeld);
  EXPECT_EQ(Held(), 3);
  room_.Changed("q:a");
  auto batches = sink_.batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].why, WakeReason::kChange);
  EXPECT_EQ(batches[0].keys.size(), 2u);
  EXPECT_EQ(room_.held(), 1u);
  EXPECT_EQ(Held(), 1);
  room_.Changed("q:a");  // nobody left for it
  EXPECT_EQ(sink_.batches().size(), 1u);
}

TEST_F(WaitRoomTest, AChangeOfTheLicenseWakesEveryQueryOfIt) {
  ASSERT_EQ(room_.Hold(Request("k1", "a", 1)), WaitRoom::Admission::kHeld);
  ASSERT_EQ(room_.Hold(Request("k2", "b", 1)), WaitRoom::Admission::kHeld);
  ASSERT_EQ(room_.Hold(Request("k3", "c", 2)), WaitRoom::Admission::kHeld);
  room_.Changed("l:1");
  auto batches = sink_.batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].keys.size(), 2u);
  EXPECT_EQ(room_.held(), 1u);
  room_.Changed("l:11");  // a prefix of nothing: no one
  room_.Changed("q:");
  EXPECT_EQ(sink_.batches().size(), 1u);
}

TEST_F(WaitRoomTest, PastEitherBoundNothingMoreIsHeld) {
  // Two per key, four in all.
  EXPECT_EQ(room_.Hold(Request("k1", "a", 1)), WaitRoom::Admission::kHeld);
  EXPECT_EQ(room_.Hold(Request("k1", "a", 1)), WaitRoom::Admission::kHeld);
  EXPECT_EQ(room_.Hold(Request("k1", "b", 1)), WaitRoom::Admission::kKeyFull);
  EXPECT_EQ(room_.Hold(Request("k2", "a", 1)), WaitRoom::Admission::kHeld);
  EXPECT_EQ(room_.Hold(Request("k3", "a", 1)), WaitRoom::Admission::kHeld);
  EXPECT_EQ(room_.Hold(Request("k4", "a", 1)), WaitRoom::Admission::kFull);
  EXPECT_EQ(room_.held(), 4u);
  // A slot freed is a slot to take again, for the key as for the room.
  room_.Changed("q:a");
  EXPECT_EQ(room_.held(), 0u);
  EXPECT_EQ(room_.Hold(Request("k1", "a", 1)), WaitRoom::Admission::kHeld);
  EXPECT_EQ(room_.Hold(Request("k1", "a", 1)), WaitRoom::Admission::kHeld);
}

TEST_F(WaitRoomTest, WhileTheFeedIsDownNothingIsHeldAndGoingDownWakesAll) {
  ASSERT_EQ(room_.Hold(Request("k1", "a", 1)), WaitRoom::Admission::kHeld);
  ASSERT_EQ(room_.Hold(Request("k2", "b", 2)), WaitRoom::Admission::kHeld);
  room_.FeedDown();
  auto batches = sink_.batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].why, WakeReason::kFeedDown);
  EXPECT_EQ(batches[0].keys.size(), 2u);
  EXPECT_EQ(Held(), 0);
  EXPECT_EQ(room_.Hold(Request("k1", "a", 1)), WaitRoom::Admission::kFeedDown);
  room_.FeedUp();
  EXPECT_EQ(room_.Hold(Request("k1", "a", 1)), WaitRoom::Admission::kHeld);
}

TEST_F(WaitRoomTest, TheDrainWakesEveryoneAndHoldsNothingAfter) {
  ASSERT_EQ(room_.Hold(Request("k1", "a", 1)), WaitRoom::Admission::kHeld);
  room_.Drain();
  auto batches = sink_.batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].why, WakeReason::kDrain);
  EXPECT_EQ(room_.Hold(Request("k1", "a", 1)), WaitRoom::Admission::kDraining);
  EXPECT_EQ(room_.held(), 0u);
}

TEST_F(WaitRoomTest, EachWaitEndsOnTimeInTheOrderOfItsEnd) {
  room_.Start();
  Clock::time_point start = Clock::now();
  ASSERT_EQ(room_.Hold(Request("late", "a", 1, milliseconds(300))),
            WaitRoom::Admission::kHeld);
  // Held after the later one, ending first: the timer must sleep less.
  ASSERT_EQ(room_.Hold(Request("early", "b", 1, milliseconds(100))),
            WaitRoom::Admission::kHeld);
  while (sink_.batches().size() < 2 && Clock::now() - start < seconds(5)) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  auto elapsed = Clock::now() - start;
  auto batches = sink_.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].why, WakeReason::kTimeout);
  EXPECT_EQ(batches[0].keys, std::vector<std::string>{"early"});
  EXPECT_EQ(batches[1].keys, std::vector<std::string>{"late"});
  EXPECT_GE(elapsed, milliseconds(300));
  EXPECT_LT(elapsed, seconds(2));
  room_.Stop();
}

TEST_F(WaitRoomTest, AClientThatLeftIsLetGoAtTheNextSweep) {
  room_.Start();
  auto gone = std::make_shared<std::atomic<bool>>(false);
  auto r = Request("k1", "a", 1);
  r->gone = [gone] { return gone->load(); };
  ASSERT_EQ(room_.Hold(r), WaitRoom::Admission::kHeld);
  ASSERT_EQ(room_.Hold(Request("k2", "a", 1)), WaitRoom::Admission::kHeld);
  std::this_thread::sleep_for(milliseconds(60));
  EXPECT_TRUE(sink_.batches().empty());
  gone->store(true);
  Clock::time_point start = Clock::now();
  while (sink_.batches().empty() && Clock::now() - start < seconds(5)) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  auto batches = sink_.batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].why, WakeReason::kClientGone);
  EXPECT_EQ(batches[0].keys, std::vector<std::string>{"k1"});
  EXPECT_EQ(room_.held(), 1u);
  room_.Stop();
}

TEST(WaitRoomBoundsTest, ZeroWaitersPerKeyHoldsNothing) {
  metrics::Metrics metrics;
  WaitRoom room({10, 0, milliseconds(1000)}, metrics);
  room.FeedUp();
  auto r = std::make_shared<HeldRequest>();
  r->key = "k";
  r->until = Clock::now() + seconds(1);
  EXPECT_EQ(room.Hold(r), WaitRoom::Admission::kKeyFull);
  WaitRoom none({0, 10, milliseconds(1000)}, metrics);
  none.FeedUp();
  EXPECT_EQ(none.Hold(r), WaitRoom::Admission::kFull);
}

TEST(WaitRoomBoundsTest, ARoomWhoseFeedNeverCameUpHoldsNothing) {
  metrics::Metrics metrics;
  WaitRoom room({10, 10, milliseconds(1000)}, metrics);
  auto r = std::make_shared<HeldRequest>();
  r->key = "k";
  r->until = Clock::now() + seconds(1);
  EXPECT_EQ(room.Hold(r), WaitRoom::Admission::kFeedDown);
}

}  // namespace
}  // namespace qs::api
