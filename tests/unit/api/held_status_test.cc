// Prefer: wait in StatusService: when a conditional request is held, what
// wakes it, what it is answered, and what it costs of the budget.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/status_service.h"
#include "auth/token.h"
#include "fakes/status_service_rig.h"

namespace qs::api {
namespace {

constexpr int32_t kKeyLimit = 4;
constexpr int kMaxWait = 30;

// Where an answer lands, whichever thread gives it (the test's own, or the
// wait room's timer): read it once has_value() said it is there.
class AnswerSlot {
 public:
  void Set(StatusReply r) {
    std::lock_guard<std::mutex> lock(mu_);
    reply_ = std::move(r);
  }
  bool has_value() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reply_.has_value();
  }
  const StatusReply& operator*() const { return *reply_; }
  const StatusReply* operator->() const { return &*reply_; }

 private:
  mutable std::mutex mu_;
  std::optional<StatusReply> reply_;
};

class HeldStatusTest : public qs::testing::StatusServiceRig {
 protected:
  HeldStatusTest() : StatusServiceRig({5, "", kMaxWait}) {
    AddKey(token_, 7, kKeyLimit);
    queries_.cached = true;
    Running(1);
    waits_.FeedUp();
  }

  // Sends a request; its answer lands in the returned slot whenever it is
  // given (at once, or when the request is woken).
  // `tweak` changes the call before it is sent (another key, a client that
  // leaves).
  std::shared_ptr<AnswerSlot> Send(
      std::optional<std::string> if_none_match,
      std::optional<std::string> prefer,
      const std::function<void(StatusCall&)>& tweak = nullptr) {
    StatusCall c;
    c.json_param = R"({"schedule_id":"q1"})";
    c.authorization = "Bearer " + token_;
    c.client_address = "203.0.113.9";
    c.request_id = "req";
    c.if_none_match = std::move(if_none_match);
    c.prefer = std::move(prefer);
    if (tweak) tweak(c);
    auto answer = std::make_shared<AnswerSlot>();
    service_.HandleAsync(std::move(c), executor_, [answer](StatusReply r) {
      answer->Set(std::move(r));
    });
    executor_.RunAll();
    return answer;
  }

  StatusReply Now(std::optional<std::string> if_none_match = std::nullopt,
                  std::optional<std::string> prefer = std::nullopt) {
    auto a = Send(std::move(if_none_match), std::move(prefer));
    EXPECT_TRUE(a->has_value()) << "not answered at once";
    return a->has_value() ? **a : StatusReply{};
  }

  // A tag the current state has, and the budget it cost.
  std::string CurrentTag() { return Now().etag; }

  const std::string token_ = auth::NewToken();
};

TEST_F(HeldStatusTest, AMatchingTagWithAWaitIsHeldUntilAChangeThen200) {
  std::string tag = CurrentTag();  // spends 1
  auto held = Send(tag, "wait=10");
  EXPECT_FALSE(held->has_value()) << "answered instead of held";
  EXPECT_EQ(waits_.held(), 1u);
  EXPECT_EQ(metrics_.held_requests().Value(), 1);

  Running(2);
  waits_.Changed("q:q1");
  executor_.RunAll();
  ASSERT_TRUE(held->has_value());
  const StatusReply& r = **held;
  ASSERT_FALSE(r.error) << r.error->detail;
  EXPECT_FALSE(r.not_modified);
  EXPECT_NE(r.etag, tag);
  EXPECT_EQ(r.wait_applied, 10);
  EXPECT_NE(r.body.find("\"queries_ready\":2"), std::string::npos) << r.body;
  ASSERT_TRUE(r.rate);
  EXPECT_EQ(r.rate->remaining, kKeyLimit - 2) << "the change's 200 is counted";
  EXPECT_EQ(waits_.held(), 0u);
  EXPECT_EQ(metrics_.wake_latency().Collect().histogram.sample_count, 1u);
}

TEST_F(HeldStatusTest, TheWaitIsClampedToTheMaximum) {
  std::string tag = CurrentTag();
  auto held = Send(tag, "wait=100000");
  ASSERT_FALSE(held->has_value());
  waits_.Drain();
  executor_.RunAll();
  ASSERT_TRUE(held->has_value());
  EXPECT_EQ((*held)->wait_applied, kMaxWait);
}

TEST_F(HeldStatusTest, TheEndOfTheWaitIs304AndFree) {
  waits_.Start();
  std::string tag = CurrentTag();
  auto start = std::chrono::steady_clock::now();
  auto held = Send(tag, "wait=1");
  ASSERT_FALSE(held->has_value());
  while (!held->has_value() &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    executor_.RunAll();
  }
  ASSERT_TRUE(held->has_value()) << "the wait never ended";
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  const StatusReply& r = **held;
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.not_modified);
  EXPECT_EQ(r.etag, tag);
  EXPECT_EQ(r.wait_applied, 1);
  EXPECT_EQ(r.rate->remaining, kKeyLimit - 1) << "a held 304 spent budget";
  waits_.Stop();
}

TEST_F(HeldStatusTest, AChangeThatLeavesTheTagAsItWasKeepsTheRequestHeld) {
  std::string tag = CurrentTag();
  auto held = Send(tag, "wait=10");
  ASSERT_FALSE(held->has_value());
  waits_.Changed("l:3");  // the license changed, this page did not
  executor_.RunAll();
  EXPECT_FALSE(held->has_value());
  EXPECT_EQ(waits_.held(), 1u);
  Running(5);
  waits_.Changed("l:3");
  executor_.RunAll();
  ASSERT_TRUE(held->has_value());
  EXPECT_FALSE((*held)->not_modified);
}

TEST_F(HeldStatusTest, AKeySpentWhileItsRequestWasHeldEndsIn429) {
  std::string tag = CurrentTag();
  auto held = Send(tag, "wait=10");
  ASSERT_FALSE(held->has_value());
  for (int i = 1; i < kKeyLimit; ++i) Now();  // all spent
  Running(2);
  waits_.Changed("q:q1");
  executor_.RunAll();
  ASSERT_TRUE(held->has_value());
  ASSERT_TRUE((*held)->error);
  EXPECT_EQ((*held)->error->code, ErrorCode::kResourceExhausted);
}

TEST_F(HeldStatusTest, ASpentKeyIsNotHeldButAnswered429AtOnce) {
  std::string tag = CurrentTag();
  for (int i = 1; i < kKeyLimit; ++i) Now();
  StatusReply r = Now(tag, "wait=10");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(waits_.held(), 0u);
}

TEST_F(HeldStatusTest, WithoutAMatchingTagTheWaitIsIgnored) {
  std::string tag = CurrentTag();
  StatusReply r = Now(std::nullopt, "wait=10");
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.wait_applied, 0);
  r = Now("W/\"other\"", "wait=10");
  EXPECT_FALSE(r.error);
  EXPECT_FALSE(r.not_modified);
  EXPECT_EQ(r.wait_applied, 0);
  EXPECT_EQ(waits_.held(), 0u);
}

TEST_F(HeldStatusTest, AZeroOrInvalidWaitIsAnswered304AtOnce) {
  std::string tag = CurrentTag();
  for (const char* prefer :
       {"wait=0", "wait=-1", "wait=1.5", "wait", "respond-async", "wait=abc"}) {
    StatusReply r = Now(tag, prefer);
    EXPECT_TRUE(r.not_modified) << prefer;
    EXPECT_EQ(r.wait_applied, 0) << prefer;
  }
  EXPECT_EQ(waits_.held(), 0u);
}

TEST_F(HeldStatusTest, PastTheBoundPerKeyTheRequestIsAnsweredAtOnce) {
  std::string tag = CurrentTag();
  auto a = Send(tag, "wait=10");
  auto b = Send(tag, "wait=10");
  ASSERT_FALSE(a->has_value());
  ASSERT_FALSE(b->has_value());
  StatusReply third = Now(tag, "wait=10");
  EXPECT_TRUE(third.not_modified);
  EXPECT_EQ(third.wait_applied, 0) << "Preference-Applied on a wait not held";
  waits_.Drain();
  executor_.RunAll();
}

TEST_F(HeldStatusTest, WhileTheFeedIsDownNothingIsHeld) {
  std::string tag = CurrentTag();
  auto held = Send(tag, "wait=10");
  ASSERT_FALSE(held->has_value());
  waits_.FeedDown();
  executor_.RunAll();
  ASSERT_TRUE(held->has_value()) << "the feed went down and it stayed held";
  EXPECT_TRUE((*held)->not_modified);
  EXPECT_EQ((*held)->wait_applied, 10);
  StatusReply r = Now(tag, "wait=10");
  EXPECT_TRUE(r.not_modified);
  EXPECT_EQ(r.wait_applied, 0);
}

TEST_F(HeldStatusTest, TheDrainAnswersHeldRequestsAtOnceWithTheCurrentState) {
  std::string tag = CurrentTag();
  auto unchanged = Send(tag, "wait=30");
  Running(4);  // changed, but no notification came (yet)
  std::string tag4 = CurrentTag();
  auto held4 = Send(tag4, "wait=30");
  ASSERT_FALSE(unchanged->has_value());
  ASSERT_FALSE(held4->has_value());
  waits_.Drain();
  executor_.RunAll();
  ASSERT_TRUE(unchanged->has_value());
  ASSERT_TRUE(held4->has_value());
  EXPECT_FALSE((*unchanged)->not_modified)
      << "the state it held on had changed";
  EXPECT_TRUE((*held4)->not_modified);
  EXPECT_EQ((*held4)->wait_applied, 30);
}

TEST_F(HeldStatusTest, RequestsWokenForOnePageAreAnsweredFromOneRead) {
  queries_.cached = false;
  std::string tag = CurrentTag();
  // Two keys of the license, two held requests each.
  const std::string other = auth::NewToken();
  AddKey(other, 8, kKeyLimit);
  std::vector<std::shared_ptr<AnswerSlot>> held;
  held.push_back(Send(tag, "wait=10"));
  held.push_back(Send(tag, "wait=10"));
  for (int i = 0; i < 2; ++i) {
    held.push_back(Send(tag, "wait=10", [&](StatusCall& c) {
      c.authorization = "Bearer " + other;
    }));
  }
  ASSERT_EQ(waits_.held(), 4u);
  int reads_before = queries_.reads;
  Running(2);
  waits_.Changed("q:q1");
  executor_.RunAll();
  EXPECT_EQ(queries_.reads - reads_before, 1);
  for (auto& h : held) {
    ASSERT_TRUE(h->has_value());
    EXPECT_FALSE((*h)->error);
    EXPECT_FALSE((*h)->not_modified);
  }
}

TEST_F(HeldStatusTest, AClientThatLeftWhileHeldIsRecordedAsGone) {
  waits_.Start();
  std::string tag = CurrentTag();
  auto gone = std::make_shared<std::atomic<bool>>(false);
  auto answer = Send(tag, "wait=30", [gone](StatusCall& c) {
    c.client_gone = [gone] { return gone->load(); };
  });
  ASSERT_FALSE(answer->has_value());
  gone->store(true);
  auto start = std::chrono::steady_clock::now();
  while (waits_.held() > 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  waits_.Stop();
  ASSERT_TRUE(answer->has_value());
  EXPECT_TRUE((*answer)->client_gone);
}

}  // namespace
}  // namespace qs::api
