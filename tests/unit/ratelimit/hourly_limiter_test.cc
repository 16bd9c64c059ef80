#include "ratelimit/hourly_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_window_counter.h"
#include "log/log.h"

namespace qs::ratelimit {
namespace {

using qs::testing::FakeClock;
using qs::testing::FakeWindowCounter;

// 2023-11-14T22:00:00Z, a window boundary.
constexpr int64_t kWindowStart = 1700000000 - 1700000000 % 3600;

class HourlyLimiterTest : public ::testing::Test {
 protected:
  HourlyLimiterTest() { clock_.Set(kWindowStart + 100); }

  // The decision for one request, which the counter (answering inline
  // unless held) gives before CheckAsync returns; a decision that has not
  // come by then fails the test.
  static Result<RateDecision> Ask(HourlyLimiter& limiter,
                                  metrics::RateScope scope,
                                  const std::string& bucket, int32_t limit) {
    std::optional<Result<RateDecision>> answer;
    limiter.CheckAsync(scope, bucket, limit,
                       [&](Result<RateDecision> d) { answer = std::move(d); });
    if (!answer) {
      ADD_FAILURE() << "CheckAsync did not answer inline";
      return Error::Internal("no decision");
    }
    return std::move(*answer);
  }
  static Result<RateDecision> Ask(HourlyLimiter& limiter, int32_t limit) {
    return Ask(limiter, metrics::RateScope::kKey, "k:1", limit);
  }
  // The same for a read of the budget (PeekAsync).
  static Result<RateDecision> Peek(HourlyLimiter& limiter, int32_t limit) {
    std::optional<Result<RateDecision>> answer;
    limiter.PeekAsync(metrics::RateScope::kKey, "k:1", limit,
                      [&](Result<RateDecision> d) { answer = std::move(d); });
    if (!answer) {
      ADD_FAILURE() << "PeekAsync did not answer inline";
      return Error::Internal("no decision");
    }
    return std::move(*answer);
  }

  double Decisions(metrics::Decision decision) {
    return metrics_.RateLimitDecision(decision, metrics::RateScope::kKey)
        .Value();
  }

  FakeClock clock_;
  FakeWindowCounter shared_;
  metrics::Metrics metrics_;
};

TEST_F(HourlyLimiterTest, DeniesOnceTheWindowIsSpent) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  for (int i = 0; i < 3; ++i) {
    auto d = Ask(limiter, 3);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(d.value().allowed) << "request " << i;
    EXPECT_EQ(d.value().limit, 3);
    EXPECT_FALSE(d.value().failed_open);
  }
  auto d = Ask(limiter, 3);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d.value().allowed);
  EXPECT_EQ(Decisions(metrics::Decision::kAllowed), 3);
  EXPECT_EQ(Decisions(metrics::Decision::kLimited), 1);
}

TEST_F(HourlyLimiterTest, BucketsAreCountedSeparately) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  EXPECT_TRUE(Ask(limiter, 1).value().allowed);
  EXPECT_TRUE(Ask(limiter, metrics::RateScope::kKey, "k:2", 1).value().allowed);
  EXPECT_FALSE(Ask(limiter, 1).value().allowed);
}

TEST_F(HourlyLimiterTest, RemainingNeverNegative) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  const int32_t expected[] = {1, 0, 0, 0, 0};
  for (int32_t want : expected) {
    auto d = Ask(limiter, 2);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.value().remaining, want);
  }
}

TEST_F(HourlyLimiterTest, ResetsAtWindowBoundary) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  clock_.Set(kWindowStart + 3599);
  EXPECT_TRUE(Ask(limiter, 1).value().allowed);
  EXPECT_FALSE(Ask(limiter, 1).value().allowed);
  clock_.Advance(1);
  auto d = Ask(limiter, 1);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d.value().allowed);
  EXPECT_EQ(d.value().remaining, 0);
  EXPECT_EQ(shared_.last_window_start(), kWindowStart + 3600);
}

TEST_F(HourlyLimiterTest, CountsInHourWindowsAlignedToTheEpoch) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  clock_.Set(kWindowStart + 1234);
  ASSERT_TRUE(Ask(limiter, 5).ok());
  EXPECT_EQ(shared_.last_window_start(), kWindowStart);
  EXPECT_EQ(shared_.last_window_seconds(), 3600);
}

TEST_F(HourlyLimiterTest, RetryAfterIsSecondsToWindowEnd) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  const std::pair<int64_t, int64_t> kCases[] = {
      {0, 3600}, {1, 3599}, {1800, 1800}, {3599, 1}};
  for (auto [offset, want] : kCases) {
    clock_.Set(kWindowStart + offset);
    auto d = Ask(limiter, 100);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.value().reset_seconds, want) << "offset " << offset;
  }
}

TEST_F(HourlyLimiterTest, FailsOpenToLocalCounterWhenSharedFails) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  shared_.Fail(true);
  for (int i = 0; i < 2; ++i) {
    auto d = Ask(limiter, 2);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(d.value().allowed);
    EXPECT_TRUE(d.value().failed_open);
    EXPECT_EQ(d.value().remaining, 1 - i);
  }
  auto d = Ask(limiter, 2);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d.value().allowed);  // the local counter still limits
  EXPECT_TRUE(d.value().failed_open);
  EXPECT_EQ(d.value().remaining, 0);
  EXPECT_EQ(d.value().reset_seconds, 3500);

  EXPECT_EQ(Decisions(metrics::Decision::kFailOpen), 3);
  EXPECT_EQ(Decisions(metrics::Decision::kLimited), 1);
  EXPECT_EQ(Decisions(metrics::Decision::kAllowed), 0);
  EXPECT_EQ(Decisions(metrics::Decision::kFailClosed), 0);
}

TEST_F(HourlyLimiterTest, UsesTheSharedCounterAgainOnceItRecovers) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  shared_.Fail(true);
  ASSERT_TRUE(Ask(limiter, 5).value().failed_open);
  shared_.Fail(false);
  auto d = Ask(limiter, 5);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d.value().failed_open);
  EXPECT_EQ(d.value().remaining, 4);  // counted from the shared count only
}

TEST_F(HourlyLimiterTest, FailOpenLogLineIsRateLimitedButTheMetricIsNot) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  shared_.Fail(true);
  auto lines = [](const std::string& out) {
    size_t n = 0;
    for (size_t p = 0;
         (p = out.find("ratelimit_fail_open", p)) != std::string::npos; ++p) {
      ++n;
    }
    return n;
  };
  log::Flush();  // lines of earlier tests must not land in the capture
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Ask(limiter, 100).ok());
  clock_.Advance(9);
  ASSERT_TRUE(Ask(limiter, 100).ok());
  clock_.Advance(1);  // 10 s after the first line
  ASSERT_TRUE(Ask(limiter, 100).ok());
  log::Flush();  // the log is written by a thread of its own
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(lines(out), 2u) << out;
  EXPECT_NE(out.find("\"decisions\":\"6\""), std::string::npos) << out;
  EXPECT_EQ(Decisions(metrics::Decision::kFailOpen), 7);
}

TEST_F(HourlyLimiterTest, FailsClosedWhenConfigured) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kClosed, metrics_);
  shared_.Fail(true);
  auto d = Ask(limiter, 2);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(Decisions(metrics::Decision::kFailClosed), 1);
  EXPECT_EQ(Decisions(metrics::Decision::kFailOpen), 0);
  EXPECT_EQ(Decisions(metrics::Decision::kAllowed), 0);
}

TEST_F(HourlyLimiterTest, ScopeLabelsTheMetric) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  ASSERT_TRUE(Ask(limiter, metrics::RateScope::kAddress, "a:203.0.113.9", 2).ok());
  EXPECT_EQ(metrics_
                .RateLimitDecision(metrics::Decision::kAllowed,
                                   metrics::RateScope::kAddress)
                .Value(),
            1);
  EXPECT_EQ(Decisions(metrics::Decision::kAllowed), 0);
}

TEST_F(HourlyLimiterTest, OverLimitBucketIsRefusedFromMemoryWithoutACount) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  for (int i = 0; i < 3; ++i) {  // 3rd: denied
    ASSERT_TRUE(Ask(limiter, 2).ok());
  }
  ASSERT_EQ(shared_.calls("k:1"), 3);
  clock_.Advance(100);
  for (int i = 0; i < 50; ++i) {
    auto d = Ask(limiter, 2);
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(d.value().allowed);
    EXPECT_EQ(d.value().remaining, 0);
    EXPECT_EQ(d.value().limit, 2);
    EXPECT_EQ(d.value().reset_seconds, 3600 - 200);
  }
  EXPECT_EQ(shared_.calls("k:1"), 3);
  EXPECT_EQ(Decisions(metrics::Decision::kLimited), 51);
  EXPECT_EQ(metrics_.RateLimitRemembered(metrics::RateScope::kKey).Value(), 50);
}

TEST_F(HourlyLimiterTest, RememberedDenialIsAnsweredInlineWithoutTheCounter) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(Ask(limiter, 1).ok());
  }
  shared_.Hold(true);  // a count sent now would not answer
  bool answered = false;
  limiter.CheckAsync(metrics::RateScope::kKey, "k:1", 1, [&](Result<RateDecision> d) {
    answered = true;
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(d.value().allowed);
  });
  EXPECT_TRUE(answered);
  EXPECT_EQ(shared_.held(), 0u);
  EXPECT_EQ(shared_.calls("k:1"), 2);
}

TEST_F(HourlyLimiterTest, LateCountIsDecidedInTheWindowOfTheRequest) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  clock_.Set(kWindowStart + 3599);
  shared_.Hold(true);
  std::optional<Result<RateDecision>> answer;
  limiter.CheckAsync(metrics::RateScope::kKey, "k:1", 5,
                     [&](Result<RateDecision> d) { answer = std::move(d); });
  EXPECT_FALSE(answer.has_value()) << "decided before the count answered";
  ASSERT_EQ(shared_.held(), 1u);
  EXPECT_EQ(shared_.last_window_start(), kWindowStart);

  clock_.Advance(5);  // the count answers in the next window
  ASSERT_TRUE(shared_.ReleaseOne());
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->ok());
  EXPECT_TRUE(answer->value().allowed);
  EXPECT_EQ(answer->value().remaining, 4);
  EXPECT_EQ(answer->value().reset_seconds, 1);  // of the request's window
  EXPECT_EQ(Decisions(metrics::Decision::kAllowed), 1);
}

TEST_F(HourlyLimiterTest, HeldCountsAreDecidedInTheOrderTheCounterAnswers) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  shared_.Hold(true);
  std::vector<Result<RateDecision>> answers;
  for (int i = 0; i < 3; ++i) {
    limiter.CheckAsync(metrics::RateScope::kKey, "k:1", 2, [&](Result<RateDecision> d) {
      answers.push_back(std::move(d));
    });
  }
  EXPECT_TRUE(answers.empty());
  ASSERT_EQ(shared_.held(), 3u) << "a count was decided from memory too early";

  shared_.Release();
  ASSERT_EQ(answers.size(), 3u);
  for (const auto& a : answers) ASSERT_TRUE(a.ok());
  EXPECT_TRUE(answers[0].value().allowed);
  EXPECT_EQ(answers[0].value().remaining, 1);
  EXPECT_TRUE(answers[1].value().allowed);
  EXPECT_EQ(answers[1].value().remaining, 0);
  EXPECT_FALSE(answers[2].value().allowed);

  // The late answer that went over the limit is remembered: the next request
  // is refused inline, with no count.
  auto d = Ask(limiter, 2);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d.value().allowed);
  EXPECT_EQ(shared_.calls("k:1"), 3);
  EXPECT_EQ(shared_.held(), 0u);
}

TEST_F(HourlyLimiterTest, FailedCountThatAnswersLateFailsOpen) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  shared_.Hold(true);
  std::optional<Result<RateDecision>> answer;
  limiter.CheckAsync(metrics::RateScope::kKey, "k:1", 5,
                     [&](Result<RateDecision> d) { answer = std::move(d); });
  shared_.Fail(true);
  shared_.Release();
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->ok());
  EXPECT_TRUE(answer->value().allowed);
  EXPECT_TRUE(answer->value().failed_open);
  EXPECT_EQ(Decisions(metrics::Decision::kFailOpen), 1);
}

TEST_F(HourlyLimiterTest, ConcurrentRequestsAreAllowedExactlyTheLimit) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  constexpr int kThreads = 4, kPerThread = 100, kLimit = 150;
  std::atomic<int> allowed{0}, denied{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        limiter.CheckAsync(metrics::RateScope::kKey, "k:1", kLimit, [&](Result<RateDecision> d) {
          if (!d.ok()) {
            ++failed;
          } else if (d.value().allowed) {
            ++allowed;
          } else {
            ++denied;
          }
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(allowed.load(), kLimit);
  EXPECT_EQ(denied.load(), kThreads * kPerThread - kLimit);
  EXPECT_EQ(Decisions(metrics::Decision::kAllowed), kLimit);
  EXPECT_EQ(Decisions(metrics::Decision::kLimited), kThreads * kPerThread - kLimit);
}

TEST_F(HourlyLimiterTest, RememberedDenialEndsWithTheWindow) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  clock_.Set(kWindowStart + 3590);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Ask(limiter, 1).ok());
  }
  EXPECT_EQ(shared_.calls("k:1"), 2);
  clock_.Set(kWindowStart + 3600);
  auto d = Ask(limiter, 1);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d.value().allowed);
  EXPECT_EQ(shared_.calls("k:1"), 3);
}

TEST_F(HourlyLimiterTest, FailOpenDenialsAreNotRemembered) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  shared_.Fail(true);
  for (int i = 0; i < 3; ++i) {  // local: 3rd no
    ASSERT_TRUE(Ask(limiter, 1).ok());
  }
  shared_.Fail(false);
  auto d = Ask(limiter, 1);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d.value().allowed) << "a local count was taken as shared";
  EXPECT_EQ(shared_.calls("k:1"), 4);
}

TEST_F(HourlyLimiterTest, ARaisedLimitIsAskedOfTheCounterAgain) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  for (int i = 0; i < 3; ++i) {  // count 3 seen
    ASSERT_TRUE(Ask(limiter, 2).ok());
  }
  auto d = Ask(limiter, 10);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d.value().allowed);
  EXPECT_EQ(d.value().remaining, 6);
  EXPECT_EQ(shared_.calls("k:1"), 4);
}

TEST(OverLimitMemoryTest, StaysBoundedAndKeepsWhatItKnows) {
  OverLimitMemory memory(160);
  for (int i = 0; i < 10000; ++i) {
    memory.Remember("k:" + std::to_string(i), 3600, 10);
  }
  EXPECT_LE(memory.size(), 160u);
  size_t known = 0;
  for (int i = 0; i < 10000; ++i) {
    known += memory.KnownOver("k:" + std::to_string(i), 3600, 5) ? 1 : 0;
  }
  EXPECT_EQ(known, memory.size());
  // The next window sweeps the old one's entries to make room.
  for (int i = 0; i < 10000; ++i) {
    memory.Remember("n:" + std::to_string(i), 7200, 10);
  }
  EXPECT_LE(memory.size(), 160u);
  EXPECT_FALSE(memory.KnownOver("k:0", 7200, 5));
  size_t fresh = 0;
  for (int i = 0; i < 10000; ++i) {
    fresh += memory.KnownOver("n:" + std::to_string(i), 7200, 5) ? 1 : 0;
  }
  EXPECT_GE(fresh, 80u);
}

TEST_F(HourlyLimiterTest, APeekShowsTheBudgetWithoutSpendingIt) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  ASSERT_TRUE(Ask(limiter, 3).ok());
  for (int i = 0; i < 4; ++i) {
    auto d = Peek(limiter, 3);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(d.value().allowed);
    EXPECT_EQ(d.value().remaining, 2);
  }
  EXPECT_EQ(Ask(limiter, 3).value().remaining, 1);
}

TEST_F(HourlyLimiterTest, APeekAtASpentBudgetIsARefusal) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(Ask(limiter, 2).value().allowed);
  auto d = Peek(limiter, 2);  // count 2 of 2: nothing left
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d.value().allowed);
  EXPECT_EQ(d.value().remaining, 0);
}

TEST_F(HourlyLimiterTest, APeekWhileRedisFailsReadsTheLocalCountWhenFailingOpen) {
  HourlyLimiter limiter(shared_, clock_, FailureMode::kOpen, metrics_);
  shared_.Fail(true);
  ASSERT_TRUE(Ask(limiter, 2).value().failed_open);  // local count 1
  auto d = Peek(limiter, 2);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d.value().failed_open);
  EXPECT_TRUE(d.value().allowed);
  EXPECT_EQ(d.value().remaining, 1);
  // Fail-closed refuses a read as it refuses a count.
  HourlyLimiter closed(shared_, clock_, FailureMode::kClosed, metrics_);
  std::optional<Result<RateDecision>> answer;
  closed.PeekAsync(metrics::RateScope::kKey, "k:1", 2,
                   [&](Result<RateDecision> r) { answer = std::move(r); });
  ASSERT_TRUE(answer);
  EXPECT_FALSE(answer->ok());
}

TEST(OverLimitMemoryTest, OffWhenSizedZero) {
  OverLimitMemory memory(0);
  memory.Remember("k:1", 0, 10);
  EXPECT_FALSE(memory.KnownOver("k:1", 0, 1));
}

}  // namespace
}  // namespace qs::ratelimit
