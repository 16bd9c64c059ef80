#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qs::testing {

// One node as CLUSTER NODES describes it.
struct ClusterNode {
  std::string id;
  int port = 0;
  bool master = false;
  bool failed = false;    // flagged fail (or fail?) by the node asked
  std::string master_id;  // a replica's master
  std::vector<std::pair<int, int>> slots;  // a master's ranges, inclusive
  int FirstSlot() const { return slots.empty() ? -1 : slots.front().first; }
};

// The Redis Cluster tests/run starts (QS_TEST_REDIS_CLUSTER_URL, a
// redis-cluster:// URL of loopback seeds), for the limiter's cluster-mode
// tests. The tests reshard it and fail a master over, so they leave it
// different from how they found it: each reads the topology as it is, and
// none assumes a slot layout.
class TestCluster {
 public:
  // The cluster of the environment, or nullopt with `why`: "skip" when
  // tests/run asks to skip these tests (the sanitizer builds), else what is
  // missing.
  static std::optional<TestCluster> FromEnv(std::string* why, bool* skip);

  const std::string& url() const { return url_; }
  // The nodes, from the first seed that answers.
  std::vector<ClusterNode> Nodes() const;
  std::vector<ClusterNode> Masters() const;
  // The port of the master serving `slot`, or 0.
  int MasterOfSlot(int slot) const;
  // redis-cli against the node on `port`; stdout.
  static std::string Cli(int port, const std::vector<std::string>& args);
  // FLUSHALL on every master: counts start from zero.
  void FlushAll() const;
  // Waits until every live node reports cluster_state:ok and agrees on
  // who serves every slot; false after `timeout_ms`.
  bool WaitHealthy(int timeout_ms) const;

 private:
  std::string url_;
  std::vector<int> seed_ports_;
};

}  // namespace qs::testing
