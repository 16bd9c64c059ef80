// Against a real Redis: QS_TEST_REDIS_URL (redis://127.0.0.1:PORT/0), which
// tests/run provides.
#include "ratelimit/redis_window_counter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/count_and_wait.h"

namespace qs::ratelimit {
namespace {

using qs::testing::CountAndWait;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kWindow = 3600;

int64_t NowUnix() { return static_cast<int64_t>(std::time(nullptr)); }
int64_t CurrentWindowStart() { return NowUnix() - NowUnix() % kWindow; }

// A bucket name no other run or test shares.
std::string UniqueBucket(const std::string& what) {
  static int n = 0;
  return "it:" + what + ":" + std::to_string(getpid()) + ":" +
         std::to_string(
             std::chrono::steady_clock::now().time_since_epoch().count()) +
         ":" + std::to_string(++n);
}

// A port on 127.0.0.1 that nothing listens on (bound, then released).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (fd < 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return -1;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;
struct CtxDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};

class RedisWindowCounterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("QS_TEST_REDIS_URL");
    ASSERT_NE(url, nullptr)
        << "QS_TEST_REDIS_URL is not set: run the integration tests through "
           "tests/run, which starts Redis";
    auto parsed = RedisWindowCounter::ParseRedisUrl(url);
    ASSERT_TRUE(parsed.ok()) << parsed.error().internal;
    options_ = parsed.value();
    options_.connect_timeout = milliseconds(500);
    options_.command_timeout = milliseconds(1000);

    // A side connection for inspecting and disturbing the server.
    admin_.reset(redisConnect(options_.host.c_str(), options_.port));
    ASSERT_TRUE(admin_ && admin_->err == 0) << "cannot reach Redis at " << url;
    if (!options_.password.empty()) {
      Admin({"AUTH", options_.user.empty() ? "default" : options_.user,
             options_.password});
    }
    Admin({"SELECT", std::to_string(options_.db)});
  }

  Reply Admin(std::vector<std::string> args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return Reply(static_cast<redisReply*>(
        redisCommandArgv(admin_.get(), static_cast<int>(argv.size()),
                         argv.data(), lens.data())));
  }

  static std::string Key(const std::string& bucket, int64_t window_start) {
    return "qs:rl:" + bucket + ":" + std::to_string(window_start);
  }

  RedisOptions options_;
  std::unique_ptr<redisContext, CtxDeleter> admin_;
  metrics::Metrics metrics_;
};

TEST_F(RedisWindowCounterTest, CountsAreExactUnderConcurrency) {
  RedisWindowCounter counter(options_, metrics_);
  const std::string bucket = UniqueBucket("exact");
  const int64_t ws = CurrentWindowStart();
  constexpr int kThreads = 8, kPerThread = 200;

  std::mutex mu;
  std::vector<int64_t> seen;
  int failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = CountAndWait(counter, bucket, ws, kWindow);
        std::lock_guard<std::mutex> lock(mu);
        if (r.ok()) {
          seen.push_back(r.value());
        } else {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();

  ASSERT_EQ(failures, 0);
  // Every count from 1 to 1600 handed out exactly once: atomic increments.
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), size_t{kThreads * kPerThread});
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], int64_t(i + 1));
  Reply r = Admin({"GET", Key(bucket, ws)});
  ASSERT_TRUE(r && r->type == REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(r->str, r->len), "1600");
  EXPECT_EQ(metrics_.RedisErrors(metrics::RedisOperation::kIncrWindow).Value(),
            0);
}

TEST_F(RedisWindowCounterTest, KeyExpiresAMinuteAfterTheWindow) {
  RedisWindowCounter counter(options_, metrics_);
  const std::string bucket = UniqueBucket("ttl");
  const int64_t ws = CurrentWindowStart();
  ASSERT_TRUE(CountAndWait(counter, bucket, ws, kWindow).ok());
  ASSERT_TRUE(CountAndWait(counter, bucket, ws, kWindow).ok());

  Reply r = Admin({"EXPIRETIME", Key(bucket, ws)});  // Redis >= 7.0
  ASSERT_TRUE(r && r->type == REDIS_REPLY_INTEGER);
  EXPECT_EQ(r->integer, ws + kWindow + 60);
  Reply ttl = Admin({"TTL", Key(bucket, ws)});
  ASSERT_TRUE(ttl && ttl->type == REDIS_REPLY_INTEGER);
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, kWindow + 60);
}

TEST_F(RedisWindowCounterTest, WindowsAreCountedSeparately) {
  RedisWindowCounter counter(options_, metrics_);
  const std::string bucket = UniqueBucket("windows");
  const int64_t ws = CurrentWindowStart();
  EXPECT_EQ(CountAndWait(counter, bucket, ws, kWindow).value(), 1);
  EXPECT_EQ(CountAndWait(counter, bucket, ws, kWindow).value(), 2);
  EXPECT_EQ(CountAndWait(counter, bucket, ws + kWindow, kWindow).value(), 1);
}

TEST_F(RedisWindowCounterTest, AReadAnswersTheCountWithoutAddingToIt) {
  RedisWindowCounter counter(options_, metrics_);
  const std::string bucket = UniqueBucket("read");
  const int64_t ws = CurrentWindowStart();
  auto read = [&] {
    return CountAndWait(counter, bucket, ws, kWindow, seconds(10), true)
        .value();
  };
  EXPECT_EQ(read(), 0);
  EXPECT_EQ(CountAndWait(counter, bucket, ws, kWindow).value(), 1);
  EXPECT_EQ(read(), 1);
  EXPECT_EQ(read(), 1);
  EXPECT_EQ(CountAndWait(counter, bucket, ws, kWindow).value(), 2);
  // A read leaves a key that expires like any count's.
  const std::string other = UniqueBucket("read-only");
  EXPECT_EQ(
      CountAndWait(counter, other, ws, kWindow, seconds(10), true).value(), 0);
  Reply ttl = Admin({"TTL", Key(other, ws)});
  ASSERT_TRUE(ttl);
  EXPECT_GT(ttl->integer, 0);
}

TEST_F(RedisWindowCounterTest, ReadsSentWithCountsSeeTheCountsBeforeThem) {
  RedisWindowCounter counter(options_, metrics_);
  const std::string bucket = UniqueBucket("mixed");
  const int64_t ws = CurrentWindowStart();
  // Sent together, so the I/O thread groups them: count, read, count, read.
  std::vector<std::promise<Result<int64_t>>> answers(4);
  for (int i = 0; i < 4; ++i) {
    auto done = [&answers, i](Result<int64_t> r) {
      answers[i].set_value(std::move(r));
    };
    if (i % 2 == 0) {
      counter.IncrementAsync(bucket, ws, kWindow, done);
    } else {
      counter.ReadAsync(bucket, ws, kWindow, done);
    }
  }
  std::vector<int64_t> got;
  for (auto& a : answers) {
    auto f = a.get_future();
    ASSERT_EQ(f.wait_for(seconds(10)), std::future_status::ready);
    got.push_back(f.get().value());
  }
  EXPECT_EQ(got, (std::vector<int64_t>{1, 1, 2, 2}));
}

TEST_F(RedisWindowCounterTest, ReloadsAScriptFlushedFromRedis) {
  RedisWindowCounter counter(options_, metrics_);
  const std::string bucket = UniqueBucket("noscript");
  const int64_t ws = CurrentWindowStart();
  ASSERT_EQ(CountAndWait(counter, bucket, ws, kWindow).value(), 1);

  Reply flushed = Admin({"SCRIPT", "FLUSH"});
  ASSERT_TRUE(flushed && flushed->type == REDIS_REPLY_STATUS);

  auto r = CountAndWait(counter, bucket, ws, kWindow);
  ASSERT_TRUE(r.ok()) << r.error().internal;
  EXPECT_EQ(r.value(), 2);
  EXPECT_EQ(metrics_.RedisErrors(metrics::RedisOperation::kIncrWindow).Value(),
            0);
}

TEST_F(RedisWindowCounterTest, ReconnectsAfterTheServerDropsTheConnection) {
  RedisWindowCounter counter(options_, metrics_);
  const std::string bucket = UniqueBucket("reconnect");
  const int64_t ws = CurrentWindowStart();
  ASSERT_EQ(CountAndWait(counter, bucket, ws, kWindow).value(), 1);

  // Kill every normal client but this admin connection.
  Reply killed = Admin({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  ASSERT_TRUE(killed && killed->type == REDIS_REPLY_INTEGER);
  ASSERT_GE(killed->integer, 1);

  // The dead connection may cost one failed call; the next one reconnects.
  auto first = CountAndWait(counter, bucket, ws, kWindow);
  if (!first.ok()) {
    EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
    auto second = CountAndWait(counter, bucket, ws, kWindow);
    ASSERT_TRUE(second.ok()) << second.error().internal;
    EXPECT_EQ(second.value(), 2);
  } else {
    EXPECT_EQ(first.value(), 2);
  }
}

TEST_F(RedisWindowCounterTest, SelectsTheDatabaseFromTheUrl) {
  options_.db = options_.db == 1 ? 2 : 1;
  RedisWindowCounter counter(options_, metrics_);
  const std::string bucket = UniqueBucket("db");
  const int64_t ws = CurrentWindowStart();
  ASSERT_TRUE(CountAndWait(counter, bucket, ws, kWindow).ok());
  Admin({"SELECT", std::to_string(options_.db)});
  Reply r = Admin({"EXISTS", Key(bucket, ws)});
  ASSERT_TRUE(r && r->type == REDIS_REPLY_INTEGER);
  EXPECT_EQ(r->integer, 1);
}

TEST_F(RedisWindowCounterTest, AuthenticatesAsTheUrlUser) {
  const std::string user = "qs_it_" + std::to_string(getpid());
  Reply made = Admin({"ACL", "SETUSER", user, "reset", "on", ">it-pass-1",
                      "~qs:rl:*", "+evalsha", "+incr", "+incrby", "+expireat",
                      "+script|load", "+ping", "+select", "+auth"});
  ASSERT_TRUE(made && made->type == REDIS_REPLY_STATUS)
      << (made ? std::string(made->str ? made->str : "") : "no reply");

  RedisOptions good = options_;
  good.user = user;
  good.password = "it-pass-1";
  RedisWindowCounter counter(good, metrics_);
  auto r = CountAndWait(counter, UniqueBucket("auth"), CurrentWindowStart(),
                        kWindow);
  EXPECT_TRUE(r.ok()) << r.error().internal;

  RedisOptions bad = good;
  bad.password = "wrong-pass";
  RedisWindowCounter refused(bad, metrics_);
  auto denied = CountAndWait(refused, UniqueBucket("auth"),
                             CurrentWindowStart(), kWindow);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(denied.error().internal.find("wrong-pass"), std::string::npos);

  Admin({"ACL", "DELUSER", user});
}

TEST_F(RedisWindowCounterTest, PingAnswersWhenRedisIsUp) {
  RedisWindowCounter counter(options_, metrics_);
  EXPECT_TRUE(counter.Ping().ok());
}

TEST_F(RedisWindowCounterTest, PingGoesOverTheConnectionThatCounts) {
  RedisWindowCounter counter(options_, metrics_);
  ASSERT_TRUE(CountAndWait(counter, UniqueBucket("probe"), CurrentWindowStart(),
                           kWindow)
                  .ok());
  ASSERT_TRUE(counter.Ping().ok());
  // The normal clients are this test's admin connection and the counter's
  // serving one (other tests' counters are gone): readiness opened none of
  // its own.
  Reply list = Admin({"CLIENT", "LIST", "TYPE", "normal"});
  ASSERT_TRUE(list && list->type == REDIS_REPLY_STRING);
  const std::string clients(list->str, list->len);
  EXPECT_EQ(std::count(clients.begin(), clients.end(), '\n'), 2) << clients;
}

TEST_F(RedisWindowCounterTest, PingFailsWhileTheServingConnectionCannotCount) {
  RedisWindowCounter counter(options_, metrics_);
  ASSERT_TRUE(counter.Ping().ok());
  // Pause every client but this admin one: the serving connection's next
  // command cannot be answered within the timeout.
  Reply paused = Admin({"CLIENT", "PAUSE", "1500", "ALL"});
  ASSERT_TRUE(paused && paused->type == REDIS_REPLY_STATUS);
  const auto start = std::chrono::steady_clock::now();
  Status ping = counter.Ping();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  Admin({"CLIENT", "UNPAUSE"});
  EXPECT_FALSE(ping.ok());
  EXPECT_LT(elapsed, options_.command_timeout + milliseconds(500));
  // Once Redis answers again, so does readiness.
  bool ready = false;
  for (int i = 0; i < 50 && !ready; ++i) {
    ready = counter.Ping().ok();
    if (!ready) std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_TRUE(ready);
}

TEST_F(RedisWindowCounterTest, UnreachableRedisIsUnavailableNotAHang) {
  int port = ClosedPort();
  ASSERT_GT(port, 0);
  auto parsed = RedisWindowCounter::ParseRedisUrl(
      "redis://127.0.0.1:" + std::to_string(port) + "/0");
  ASSERT_TRUE(parsed.ok());
  RedisOptions o = parsed.value();
  o.connect_timeout = milliseconds(200);
  o.command_timeout = milliseconds(200);
  RedisWindowCounter counter(o, metrics_);

  auto start = std::chrono::steady_clock::now();
  auto r = CountAndWait(counter, UniqueBucket("down"), CurrentWindowStart(),
                        kWindow);
  Status ping = counter.Ping();
  auto elapsed = std::chrono::steady_clock::now() - start;

  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  ASSERT_FALSE(ping.ok());
  EXPECT_EQ(ping.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(elapsed, milliseconds(1500));
  EXPECT_EQ(metrics_.RedisErrors(metrics::RedisOperation::kIncrWindow).Value(),
            1);
}

TEST_F(RedisWindowCounterTest, ServerThatNeverAnswersTimesOut) {
  // A listening socket that accepts (via the backlog) but never replies.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);

  RedisOptions o;
  o.host = "127.0.0.1";
  o.port = ntohs(addr.sin_port);
  o.connect_timeout = milliseconds(200);
  o.command_timeout = milliseconds(200);
  RedisWindowCounter counter(o, metrics_);

  auto start = std::chrono::steady_clock::now();
  auto r = CountAndWait(counter, UniqueBucket("silent"), CurrentWindowStart(),
                        kWindow);
  auto elapsed = std::chrono::steady_clock::now() - start;
  close(fd);

  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(elapsed, milliseconds(1500));
}

}  // namespace
}  // namespace qs::ratelimit
