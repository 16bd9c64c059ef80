// The limiter in cluster mode, against the 3-master, 3-replica Redis Cluster
// that tests/run starts (QS_TEST_REDIS_CLUSTER_URL): exact counts across two
// instances with keys on every master, MOVED after a slot is resharded, ASK
// while one is migrated, and a master killed under load and failed over.
// These tests reshard the cluster and kill a master, so each reads the
// topology as it finds it. They print their figures ("[ cluster mode ]").
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics.h"
#include "ratelimit/redis_cluster.h"
#include "ratelimit/redis_window_counter.h"
#include "support/count_and_wait.h"
#include "support/env.h"
#include "support/fixture.h"
#include "support/redis_cluster.h"

namespace qs::testing {
namespace {

using ratelimit::KeySlot;
using ratelimit::RedisOptions;
using ratelimit::RedisWindowCounter;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int64_t kWindow = 3600;

int64_t CurrentWindowStart() {
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  return now - now % kWindow;
}

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A bucket of this run whose keys live in `slot` (the bucket is the keys'
// hash tag).
std::string BucketInSlot(int slot, const std::string& what) {
  static std::atomic<int> run{0};
  const std::string base = "it:" + what + ":" + std::to_string(getpid()) + ":" +
                           std::to_string(++run) + ":";
  for (int n = 0;; ++n) {
    std::string b = base + std::to_string(n);
    if (KeySlot(b) == slot) return b;
  }
}

// The number in "errorstat_<KIND>:count=N" of INFO errorstats: how many
// times the node answered that error.
int ErrorStat(int port, const std::string& kind) {
  std::string info = TestCluster::Cli(port, {"info", "errorstats"});
  std::string field = "errorstat_" + kind + ":count=";
  size_t at = info.find(field);
  return at == std::string::npos ? 0
                                 : std::atoi(info.c_str() + at + field.size());
}

class ClusterModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    bool skip = false;
    auto cluster = TestCluster::FromEnv(&why, &skip);
    if (skip) GTEST_SKIP() << why;
    ASSERT_TRUE(cluster) << why;
    cluster_ = *cluster;
    ASSERT_TRUE(cluster_.WaitHealthy(20000)) << "the cluster is not healthy";
    ASSERT_EQ(cluster_.Masters().size(), 3u);
    auto parsed = RedisWindowCounter::ParseRedisUrl(cluster_.url());
    ASSERT_TRUE(parsed.ok()) << parsed.error().internal;
    options_ = parsed.value();
    options_.connect_timeout = milliseconds(300);
    options_.command_timeout = milliseconds(500);
  }

  TestCluster cluster_;
  RedisOptions options_;
};

class ClusterModeServiceTest : public DatabaseTest {
 protected:
  void SetUp() override {
    std::string why;
    bool skip = false;
    auto cluster = TestCluster::FromEnv(&why, &skip);
    if (skip) GTEST_SKIP() << why;
    ASSERT_TRUE(cluster) << why;
    cluster_ = *cluster;
    ASSERT_TRUE(cluster_.WaitHealthy(20000)) << "the cluster is not healthy";
    // A fresh database hands out key ids from 1 again: counts of an earlier
    // run must not carry over.
    cluster_.FlushAll();
    DatabaseTest::SetUp();
  }
  TestCluster cluster_;
};

TEST_F(ClusterModeServiceTest,
       TwoInstancesShareEachKeysLimitExactlyOnEveryMaster) {
  constexpr int kKeys = 12, kLimit = 20, kPerKey = 40;
  std::string license = cli_->NewLicense("acme");
  std::vector<std::string> tokens;
  for (int k = 0; k < kKeys; ++k)
    tokens.push_back(cli_->NewKey(license, kLimit));
  cli_->Ok({"query", "put", "--license", license, "--schedule-id", "q1",
            "--status", "RUNNING"});
  Service a(env_, db_->url(), cluster_.url());
  Service b(env_, db_->url(), cluster_.url());
  const int ports[2] = {a.port(), b.port()};
  const std::string target = StatusTarget("{\"schedule_id\":\"q1\"}");

  constexpr int kThreads = 24;
  std::vector<HttpResponse> responses(kKeys * kPerKey);
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int n; (n = next.fetch_add(1)) < kKeys * kPerKey;) {
        // Keys interleaved, instances alternating.
        responses[n] =
            HttpGet(ports[(n / kKeys) % 2], target,
                    {{"Authorization", "Bearer " + tokens[n % kKeys]}});
      }
    });
  }
  for (auto& th : threads) th.join();

  std::map<int, std::map<int, int>> by_key;  // key -> status -> count
  int ok_per_instance[2] = {0, 0};
  for (size_t n = 0; n < responses.size(); ++n) {
    by_key[n % kKeys][responses[n].status]++;
    if (responses[n].status == 200) ok_per_instance[(n / kKeys) % 2]++;
  }
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_EQ(by_key[k][200], kLimit) << "key " << k;
    EXPECT_EQ(by_key[k][429], kPerKey - kLimit) << "key " << k;
  }
  // Where the keys were counted: every master holds some.
  std::string per_master;
  int masters_with_keys = 0;
  for (const ClusterNode& m : cluster_.Masters()) {
    std::string keys =
        TestCluster::Cli(m.port, {"--scan", "--pattern", "qs:rl:*"});
    int n = static_cast<int>(std::count(keys.begin(), keys.end(), '\n'));
    masters_with_keys += n > 0;
    per_master += " :" + std::to_string(m.port) + "=" + std::to_string(n);
  }
  std::printf(
      "[ cluster mode ] %d keys, limit %d, %d requests each over two "
      "instances: 200 per key",
      kKeys, kLimit, kPerKey);
  for (int k = 0; k < kKeys; ++k) std::printf(" %d", by_key[k][200]);
  std::printf(" (instance a %d, b %d); window keys per master%s\n",
              ok_per_instance[0], ok_per_instance[1], per_master.c_str());
  EXPECT_EQ(masters_with_keys, 3) << "keys on" << per_master;
}

TEST_F(ClusterModeTest, FollowsMovedAfterItsSlotIsResharded) {
  std::vector<ClusterNode> masters = cluster_.Masters();
  const ClusterNode& from = masters[0];
  const ClusterNode& to = masters[1];
  // redis-cli --cluster reshard moves the source's lowest slots first.
  const int slot = from.FirstSlot();
  const std::string bucket = BucketInSlot(slot, "moved");
  const int64_t ws = CurrentWindowStart();
  metrics::Metrics metrics;
  RedisWindowCounter counter(options_, metrics);
  for (int i = 1; i <= 5; ++i) {
    auto r = CountAndWait(counter, bucket, ws, kWindow);
    ASSERT_TRUE(r.ok()) << r.error().internal;
    EXPECT_EQ(r.value(), i);
  }

  std::string out = TestCluster::Cli(
      from.port,
      {"--cluster", "reshard", "127.0.0.1:" + std::to_string(from.port),
       "--cluster-from", from.id, "--cluster-to", to.id, "--cluster-slots", "1",
       "--cluster-yes"});
  ASSERT_EQ(cluster_.MasterOfSlot(slot), to.port) << out;
  const int moved_before = ErrorStat(from.port, "MOVED");

  // The counter still sends to the old master, which answers MOVED; the
  // count lands on the new one, with the migrated key: exact.
  auto r = CountAndWait(counter, bucket, ws, kWindow);
  ASSERT_TRUE(r.ok()) << r.error().internal;
  EXPECT_EQ(r.value(), 6);
  EXPECT_EQ(ErrorStat(from.port, "MOVED"), moved_before + 1);
  // The map was read again: no further redirect.
  r = CountAndWait(counter, bucket, ws, kWindow);
  ASSERT_TRUE(r.ok()) << r.error().internal;
  EXPECT_EQ(r.value(), 7);
  EXPECT_EQ(ErrorStat(from.port, "MOVED"), moved_before + 1);
  std::printf(
      "[ cluster mode ] slot %d resharded :%d -> :%d: counts 1..5 before, 6 "
      "and 7 after, %d MOVED answered\n",
      slot, from.port, to.port, ErrorStat(from.port, "MOVED") - moved_before);
}

TEST_F(ClusterModeTest, FollowsAskWhileItsSlotIsMigrating) {
  std::vector<ClusterNode> masters = cluster_.Masters();
  const ClusterNode& from = masters[0];
  const ClusterNode& to = masters[2];
  const int slot = from.slots.back().second;  // not the one resharded above
  const std::string slot_text = std::to_string(slot);
  const std::string migrated = BucketInSlot(slot, "ask");
  const std::string fresh = BucketInSlot(slot, "ask-fresh");
  const int64_t ws = CurrentWindowStart();
  metrics::Metrics metrics;
  RedisWindowCounter counter(options_, metrics);
  for (int i = 1; i <= 3; ++i) {
    auto r = CountAndWait(counter, migrated, ws, kWindow);
    ASSERT_TRUE(r.ok()) << r.error().internal;
  }

  // A migration by hand, halfway: the slot importing on `to`, migrating on
  // `from`, and the one key moved over.
  TestCluster::Cli(to.port,
                   {"cluster", "setslot", slot_text, "importing", from.id});
  TestCluster::Cli(from.port,
                   {"cluster", "setslot", slot_text, "migrating", to.id});
  const std::string key = RedisWindowCounter::WindowKey(true, migrated, ws);
  std::string out = TestCluster::Cli(
      from.port, {"migrate", "127.0.0.1", std::to_string(to.port), "", "0",
                  "5000", "keys", key});
  ASSERT_NE(out.find("OK"), std::string::npos) << out;
  struct Finish {  // whatever happens, the slot ends up on `to`
    const TestCluster& c;
    std::string slot;
    std::string id;
    bool done = false;
    void operator()() {
      if (done) return;
      done = true;
      for (const ClusterNode& m : c.Masters()) {
        TestCluster::Cli(m.port, {"cluster", "setslot", slot, "node", id});
      }
    }
    ~Finish() { (*this)(); }
  } finish{cluster_, slot_text, to.id};
  const int ask_before = ErrorStat(from.port, "ASK");

  // The key is no longer on `from`: it answers ASK, and the count is made
  // on `to` after ASKING, where the key went.
  auto r = CountAndWait(counter, migrated, ws, kWindow);
  ASSERT_TRUE(r.ok()) << r.error().internal;
  EXPECT_EQ(r.value(), 4);
  // A key that exists nowhere yet: also asked on `to` (a script touching a
  // missing key of a migrating slot is redirected).
  r = CountAndWait(counter, fresh, ws, kWindow);
  ASSERT_TRUE(r.ok()) << r.error().internal;
  EXPECT_EQ(r.value(), 1);
  const int asks = ErrorStat(from.port, "ASK") - ask_before;
  EXPECT_EQ(asks, 2);
  // ASK changes no map: the next count is asked again.
  r = CountAndWait(counter, migrated, ws, kWindow);
  ASSERT_TRUE(r.ok()) << r.error().internal;
  EXPECT_EQ(r.value(), 5);
  EXPECT_EQ(ErrorStat(from.port, "ASK") - ask_before, 3);
  const int asked = ErrorStat(from.port, "ASK") - ask_before;

  // The migration ends: `from` now answers MOVED, and the count goes on
  // where the keys are.
  finish();
  ASSERT_TRUE(cluster_.WaitHealthy(10000));
  EXPECT_EQ(TestCluster::Cli(to.port, {"get", key}), "5\n");
  const int moved_before = ErrorStat(from.port, "MOVED");
  r = CountAndWait(counter, migrated, ws, kWindow);
  ASSERT_TRUE(r.ok()) << r.error().internal;
  EXPECT_EQ(r.value(), 6);
  EXPECT_EQ(ErrorStat(from.port, "MOVED"), moved_before + 1);
  EXPECT_EQ(TestCluster::Cli(to.port, {"get", key}), "6\n");
  std::printf(
      "[ cluster mode ] slot %d migrating :%d -> :%d: counts 4, 5 of the "
      "migrated key and 1 of a fresh one made on :%d after %d ASK; once "
      "migrated, 6 after one MOVED\n",
      slot, from.port, to.port, to.port, asked);
}

TEST_F(ClusterModeTest,
       KilledMasterFailsOverUnderLoadAndAFreshKeyGetsExactlyItsLimit) {
  // A master with a live replica in sync to promote (one that has not
  // finished its first sync refuses to take over).
  std::vector<ClusterNode> nodes = cluster_.Nodes();
  const ClusterNode* victim = nullptr;
  const ClusterNode* replica = nullptr;
  for (const ClusterNode& m : nodes) {
    if (!m.master || m.failed || m.slots.empty()) continue;
    for (const ClusterNode& r : nodes) {
      if (!r.master && !r.failed && r.master_id == m.id &&
          TestCluster::Cli(r.port, {"info", "replication"})
                  .find("master_link_status:up") != std::string::npos) {
        victim = &m;
        replica = &r;
      }
    }
    if (victim != nullptr) break;
  }
  ASSERT_NE(victim, nullptr) << "no master has a replica in sync to promote";
  const int slot = victim->FirstSlot();
  const int64_t ws = CurrentWindowStart();
  const std::string info = TestCluster::Cli(victim->port, {"info", "server"});
  const size_t at = info.find("process_id:");
  ASSERT_NE(at, std::string::npos);
  const pid_t pid = std::atoi(info.c_str() + at + 11);

  metrics::Metrics metrics_a, metrics_b;
  RedisWindowCounter a(options_, metrics_a);
  RedisWindowCounter b(options_, metrics_b);
  // Load on the victim's slot from both instances until told to stop.
  const std::string loaded = BucketInSlot(slot, "load");
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::pair<double, bool>> outcomes;  // seconds since the kill
  Clock::time_point killed_at = Clock::now() + std::chrono::hours(1);
  std::atomic<bool> killed{false};
  std::vector<std::thread> load;
  // Whichever way the test ends (an ASSERT returns early), the load stops
  // and is joined before what it uses goes.
  struct JoinLoad {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~JoinLoad() {
      stop.store(true);
      for (auto& th : threads) {
        if (th.joinable()) th.join();
      }
    }
  } join_load{stop, load};
  for (RedisWindowCounter* c : {&a, &b}) {
    for (int t = 0; t < 2; ++t) {
      load.emplace_back([&, c] {
        while (!stop.load()) {
          auto r =
              CountAndWait(*c, loaded, ws, kWindow, std::chrono::seconds(5));
          if (!killed.load()) continue;
          std::lock_guard<std::mutex> lock(mu);
          outcomes.push_back({SecondsSince(killed_at), r.ok()});
          if (!r.ok()) std::this_thread::sleep_for(milliseconds(5));
        }
      });
    }
  }
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_GT(std::stoll(TestCluster::Cli(
                victim->port,
                {"get", RedisWindowCounter::WindowKey(true, loaded, ws)})),
            0);
  {
    std::lock_guard<std::mutex> lock(mu);
    killed_at = Clock::now();
    killed.store(true);
  }
  ASSERT_TRUE(a.Ping().ok());
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  // Readiness asks every master on its serving connection: not ready while
  // one is gone.
  const bool unready = Eventually([&] { return !a.Ping().ok(); }, 2000);

  // The replica is promoted (node timeout 2 s, then the election).
  const bool promoted = Eventually(
      [&] { return cluster_.MasterOfSlot(slot) == replica->port; }, 20000);
  const double promoted_after = SecondsSince(killed_at);
  ASSERT_TRUE(promoted) << "the replica was not promoted";
  EXPECT_TRUE(unready) << "readiness did not see the master go";
  EXPECT_TRUE(Eventually([&] { return a.Ping().ok(); }, 5000))
      << "readiness did not come back after the promotion";
  // Counting works again without a restart: wait for the first success
  // after the promotion.
  ASSERT_TRUE(Eventually(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return !outcomes.empty() && outcomes.back().first > promoted_after &&
               outcomes.back().second;
      },
      10000));
  stop.store(true);
  for (auto& th : load) th.join();

  double first_failure = -1, last_failure = -1;
  int failures = 0, successes = 0;
  for (auto [when, ok] : outcomes) {
    if (ok) {
      ++successes;
      continue;
    }
    ++failures;
    if (first_failure < 0) first_failure = when;
    last_failure = when;
  }

  // A fresh key on the promoted master, from both instances at once:
  // exactly its limit of totals at or under it, each total once.
  constexpr int kLimit = 25, kPerInstance = 30;
  const std::string fresh = BucketInSlot(slot, "after-failover");
  std::vector<int64_t> totals;
  int errors = 0;
  std::vector<std::thread> threads;
  for (RedisWindowCounter* c : {&a, &b}) {
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, c] {
        for (int i = 0; i < kPerInstance / 3; ++i) {
          auto r = CountAndWait(*c, fresh, ws, kWindow);
          std::lock_guard<std::mutex> lock(mu);
          if (r.ok()) {
            totals.push_back(r.value());
          } else {
            ++errors;
          }
        }
      });
    }
  }
  for (auto& th : threads) th.join();
  std::sort(totals.begin(), totals.end());
  EXPECT_EQ(errors, 0);
  ASSERT_EQ(totals.size(), size_t{2 * kPerInstance});
  for (size_t i = 0; i < totals.size(); ++i)
    EXPECT_EQ(totals[i], int64_t(i + 1));
  const long within = std::count_if(totals.begin(), totals.end(),
                                    [](int64_t t) { return t <= kLimit; });
  EXPECT_EQ(within, kLimit);
  std::printf(
      "[ cluster mode ] master :%d killed under load: replica :%d promoted "
      "after %.1f s; counts failed (the failure mode decides) from %.2f s to "
      "%.2f s (%d failed, %d counted); then a fresh key from two instances: "
      "%ld of %zu within its limit of %d\n",
      victim->port, replica->port, promoted_after, first_failure, last_failure,
      failures, successes, within, totals.size(), kLimit);
}

}  // namespace
}  // namespace qs::testing
