// The status service's order of work and its cost, with the I/O behind
// asynchronous fakes: which refusals need no lookup, which requests reach
// the key store, and what happens to work a worker gets to too late.
#include "api/status_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/token.h"
#include "common/worker_pool.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_key_store.h"
#include "fakes/fake_query_store.h"
#include "fakes/fake_window_counter.h"
#include "fakes/manual_executor.h"
#include "fakes/status_service_rig.h"

namespace qs::api {
namespace {

using qs::testing::FakeClock;
using qs::testing::FakeKeyStore;
using qs::testing::FakeQueryStore;
using qs::testing::FakeWindowCounter;
using qs::testing::ManualExecutor;
using std::chrono::milliseconds;

constexpr char kAddress[] = "203.0.113.9";
constexpr int32_t kAddressBudget = 3;

// A reply and how many times it came (it must come exactly once).
struct Answer {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<StatusReply> reply;
  int times = 0;
  void Set(StatusReply r) {
    std::lock_guard<std::mutex> lock(mu);
    reply = std::move(r);
    ++times;
    cv.notify_all();
  }
  bool WaitFor(milliseconds d) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, d, [&] { return reply.has_value(); });
  }
};

class StatusServiceTest : public qs::testing::StatusServiceRig {
 protected:
  StatusServiceTest() : StatusServiceRig({kAddressBudget, ""}) {
    AddKey(valid_, 7, 100);
  }

  static StatusCall Call(const std::string& token,
                         const std::string& json = R"({"schedule_id":"q1"})",
                         const std::string& address = kAddress) {
    StatusCall c;
    c.json_param = json;
    c.authorization = "Bearer " + token;
    c.client_address = address;
    c.request_id = "req";
    return c;
  }

  std::shared_ptr<Answer> Handle(StatusCall call, Executor& executor) {
    auto answer = std::make_shared<Answer>();
    service_.HandleAsync(std::move(call), executor, [answer](StatusReply r) {
      answer->Set(std::move(r));
    });
    return answer;
  }

  static ErrorCode Code(const Answer& a) {
    return a.reply->error ? a.reply->error->code : ErrorCode::kInternal;
  }

  const std::string valid_ = auth::NewToken();
};

TEST_F(StatusServiceTest, BadJsonIsRefusedBeforeTheCredentialIsLookedAt) {
  auto a = Handle(Call(auth::NewToken(), "{not json"), executor_);
  ASSERT_TRUE(a->reply);
  EXPECT_EQ(Code(*a), ErrorCode::kInvalidArgument);
  EXPECT_EQ(executor_.queued(), 0u);
  EXPECT_EQ(keys_.calls(), 0);
  EXPECT_EQ(counter_.calls(std::string("a:") + kAddress), 1);
}

TEST_F(StatusServiceTest, TokenOfAnotherShapeIs401WithoutAKeyLookup) {
  // Right prefix and alphabet, but not what `key create` makes.
  const std::string shapes[] = {
      "qsk_" + std::string(40, 'a'), "qsk_" + std::string(44, 'a'),
      "qsk_" + std::string(42, 'a') + "B",  // bits past the 32 bytes
      "xyz_" + std::string(43, 'A'), "qsk_test_token"};
  int n = 0;
  for (const std::string& token : shapes) {
    const std::string address = "198.51.100." + std::to_string(++n);
    auto a = Handle(Call(token, R"({"schedule_id":"q1"})", address), executor_);
    ASSERT_TRUE(a->reply) << token;
    EXPECT_EQ(Code(*a), ErrorCode::kUnauthenticated) << token;
    EXPECT_TRUE(a->reply->credential_given);
    // Still counted against the address, as every 401 is.
    EXPECT_EQ(counter_.calls("a:" + address), 1);
  }
  EXPECT_EQ(executor_.queued(), 0u) << "a lookup was handed to a worker";
  EXPECT_EQ(keys_.calls(), 0);
}

TEST_F(StatusServiceTest, AddressOverItsBudgetGets429WithoutAKeyLookup) {
  // The budget's worth of unknown tokens, and one more, are looked up.
  for (int i = 0; i <= kAddressBudget; ++i) {
    auto a = Handle(Call(auth::NewToken()), executor_);
    executor_.RunAll();
    ASSERT_TRUE(a->reply);
    EXPECT_EQ(Code(*a), i < kAddressBudget ? ErrorCode::kUnauthenticated
                                           : ErrorCode::kResourceExhausted);
  }
  const int lookups = keys_.calls();
  const int counts = counter_.total_calls();
  ASSERT_EQ(lookups, kAddressBudget + 1);

  // Then a flood of guessed tokens costs neither a lookup nor a count.
  for (int i = 0; i < 200; ++i) {
    auto a = Handle(Call(auth::NewToken()), executor_);
    ASSERT_TRUE(a->reply) << "not answered at once: request " << i;
    EXPECT_EQ(Code(*a), ErrorCode::kResourceExhausted);
    ASSERT_TRUE(a->reply->rate);
    EXPECT_EQ(a->reply->rate->remaining, 0);
    EXPECT_EQ(a->reply->rate->limit, kAddressBudget);
  }
  EXPECT_EQ(executor_.queued(), 0u);
  EXPECT_EQ(keys_.calls(), lookups);
  EXPECT_EQ(counter_.total_calls(), counts);
  EXPECT_EQ(metrics_.RateLimitRemembered(metrics::RateScope::kAddress).Value(),
            200);
}

TEST_F(StatusServiceTest, LookupQueuedBeforeTheBudgetRanOutIsNotMade) {
  // Ten guesses reach the queue before any lookup has run.
  std::vector<std::shared_ptr<Answer>> answers;
  for (int i = 0; i < 10; ++i) {
    answers.push_back(Handle(Call(auth::NewToken()), executor_));
  }
  ASSERT_EQ(executor_.queued(), 10u);
  executor_.RunAll();
  for (auto& a : answers) ASSERT_TRUE(a->reply);
  // The fourth 401 spent the budget; the worker checked before each lookup.
  EXPECT_EQ(keys_.calls(), kAddressBudget + 1);
  EXPECT_EQ(Code(*answers.back()), ErrorCode::kResourceExhausted);
}

TEST_F(StatusServiceTest, CachedValidKeyIsServedFromAnAddressOverItsBudget) {
  auto first = Handle(Call(valid_), executor_);
  executor_.RunAll();  // the key lookup
  executor_.RunAll();  // the status read
  ASSERT_TRUE(first->reply);
  ASSERT_FALSE(first->reply->error) << first->reply->error->internal;
  for (int i = 0; i <= kAddressBudget; ++i) {
    Handle(Call(auth::NewToken()), executor_);
    executor_.RunAll();
  }
  ASSERT_TRUE(limiter_.RememberedDenial(metrics::RateScope::kAddress, std::string("a:") + kAddress,
                                        kAddressBudget));
  queries_.cached = true;
  auto again = Handle(Call(valid_), executor_);
  ASSERT_TRUE(again->reply);
  EXPECT_FALSE(again->reply->error);
  EXPECT_EQ(keys_.calls(), 1 + kAddressBudget + 1);
}

TEST_F(StatusServiceTest, OverLimitKeyIsRefusedWithoutACount) {
  const std::string token = auth::NewToken();
  AddKey(token, 8, 2);
  queries_.cached = true;
  std::vector<std::optional<ErrorCode>> codes;
  for (int i = 0; i < 10; ++i) {
    auto a = Handle(Call(token), executor_);
    executor_.RunAll();
    ASSERT_TRUE(a->reply);
    codes.push_back(a->reply->error
                        ? std::optional<ErrorCode>(a->reply->error->code)
                        : std::nullopt);
  }
  EXPECT_FALSE(codes[0]);
  EXPECT_FALSE(codes[1]);
  for (int i = 2; i < 10; ++i) {
    EXPECT_EQ(codes[i], ErrorCode::kResourceExhausted) << "request " << i;
  }
  EXPECT_EQ(counter_.calls("k:8"), 3) << "counted after the first denial";
}

TEST_F(StatusServiceTest, StatusIsReadOnlyOnceTheKeyCountAnswers) {
  counter_.Hold(true);
  auto a = Handle(Call(valid_), executor_);
  ASSERT_TRUE(executor_.RunOne());  // the key lookup; then the count
  EXPECT_EQ(counter_.held(), 1u);
  EXPECT_EQ(executor_.queued(), 0u) << "the status read did not wait";
  EXPECT_FALSE(a->reply) << "answered before the count";

  ASSERT_TRUE(counter_.ReleaseOne());
  executor_.RunAll();  // the status read
  ASSERT_TRUE(a->reply);
  ASSERT_FALSE(a->reply->error) << a->reply->error->internal;
  ASSERT_TRUE(a->reply->rate);
  EXPECT_EQ(a->reply->rate->remaining, 99);
  EXPECT_EQ(queries_.reads.load(), 1);
  EXPECT_EQ(a->times, 1);
}

TEST_F(StatusServiceTest, AKeySeenBeforeIsLookedUpFromASpentAddressOnceItsCacheExpired) {
  auto first = Handle(Call(valid_), executor_);
  executor_.RunAll();
  executor_.RunAll();
  ASSERT_TRUE(first->reply);
  ASSERT_FALSE(first->reply->error);
  for (int i = 0; i <= kAddressBudget; ++i) {
    Handle(Call(auth::NewToken()), executor_);
    executor_.RunAll();
  }
  ASSERT_TRUE(limiter_.RememberedDenial(metrics::RateScope::kAddress,
                                        std::string("a:") + kAddress,
                                        kAddressBudget));
  // Past the key cache's TTL (5 s): the key must be looked up again, and
  // the spent address must not stop that.
  clock_.Advance(std::chrono::milliseconds(6000));
  const int lookups = keys_.calls();
  auto again = Handle(Call(valid_), executor_);
  executor_.RunAll();
  executor_.RunAll();
  ASSERT_TRUE(again->reply);
  EXPECT_FALSE(again->reply->error) << "a real key was locked out";
  EXPECT_EQ(keys_.calls(), lookups + 1);
  // A token never seen is still refused from memory, with no lookup.
  auto guess = Handle(Call(auth::NewToken()), executor_);
  ASSERT_TRUE(guess->reply);
  EXPECT_EQ(Code(*guess), ErrorCode::kResourceExhausted);
  EXPECT_EQ(keys_.calls(), lookups + 1);
}

TEST_F(StatusServiceTest, RefusedCredentialWaitsForTheAddressCount) {
  counter_.Hold(true);
  auto a = Handle(Call("qsk_test_token"), executor_);
  EXPECT_FALSE(a->reply);
  ASSERT_EQ(counter_.held(), 1u);
  counter_.Release();
  ASSERT_TRUE(a->reply);
  EXPECT_EQ(Code(*a), ErrorCode::kUnauthenticated);
  ASSERT_TRUE(a->reply->rate);
  EXPECT_EQ(a->reply->rate->remaining, kAddressBudget - 1);
  EXPECT_EQ(keys_.calls(), 0);
}

TEST_F(StatusServiceTest, WorkerTaskPastItsDeadlineIsAnsweredWithoutALookup) {
  WorkerPool pool(1, 10, &metrics_.worker_pool_observer());
  // Occupy the only worker until the request's deadline has passed.
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  ASSERT_TRUE(pool.TrySubmit([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
  }));
  StatusCall call = Call(auth::NewToken());
  call.deadline = std::chrono::steady_clock::now() + milliseconds(20);
  auto a = Handle(std::move(call), pool);
  std::this_thread::sleep_for(milliseconds(40));
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(a->WaitFor(milliseconds(5000)));
  EXPECT_EQ(Code(*a), ErrorCode::kUnavailable);
  EXPECT_EQ(keys_.calls(), 0);
  EXPECT_EQ(metrics_.WorkerTasksDropped(metrics::WorkerDrop::kDeadline).Value(),
            1);
  pool.Stop();
  EXPECT_EQ(a->times, 1);
}

TEST_F(StatusServiceTest, StatusReadForAGoneClientIsNotMade) {
  std::atomic<bool> gone{false};
  StatusCall call = Call(valid_);
  call.client_gone = [&gone] { return gone.load(); };
  auto a = Handle(std::move(call), executor_);
  ASSERT_TRUE(executor_.RunOne());  // the key lookup; the status read next
  ASSERT_EQ(executor_.queued(), 1u);
  EXPECT_TRUE(static_cast<bool>(executor_.front().client_gone));
  EXPECT_TRUE(static_cast<bool>(executor_.front().drop));

  WorkerPool pool(1, 10, &metrics_.worker_pool_observer());
  gone = true;
  auto b = std::make_shared<Answer>();
  StatusCall second = Call(valid_);
  second.client_gone = [&gone] { return gone.load(); };
  service_.HandleAsync(std::move(second), pool,
                       [b](StatusReply r) { b->Set(std::move(r)); });
  ASSERT_TRUE(b->WaitFor(milliseconds(5000)));
  EXPECT_EQ(Code(*b), ErrorCode::kUnavailable);
  EXPECT_TRUE(b->reply->client_gone) << "recorded as the service's failure";
  EXPECT_EQ(queries_.reads.load(), 0);
  EXPECT_EQ(
      metrics_.WorkerTasksDropped(metrics::WorkerDrop::kClientGone).Value(), 1);
}

TEST_F(StatusServiceTest, FullWorkerQueueIsUnavailable) {
  executor_.Refuse(true);
  auto a = Handle(Call(auth::NewToken()), executor_);
  ASSERT_TRUE(a->reply);
  EXPECT_EQ(Code(*a), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace qs::api
