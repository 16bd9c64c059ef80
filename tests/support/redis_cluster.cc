#include "support/redis_cluster.h"

#include <cstdlib>
#include <sstream>

#include "support/env.h"
#include "support/process.h"

namespace qs::testing {

std::optional<TestCluster> TestCluster::FromEnv(std::string* why, bool* skip) {
  *skip = false;
  const char* url = std::getenv("QS_TEST_REDIS_CLUSTER_URL");
  if (url == nullptr || *url == '\0') {
    *why = "QS_TEST_REDIS_CLUSTER_URL is not set (tests/run sets it)";
    return std::nullopt;
  }
  if (std::string(url) == "skip") {
    *skip = true;
    *why = "the cluster-mode tests run in the plain build only";
    return std::nullopt;
  }
  TestCluster c;
  c.url_ = url;
  const std::string prefix = "redis-cluster://";
  if (c.url_.rfind(prefix, 0) != 0) {
    *why = "QS_TEST_REDIS_CLUSTER_URL is not a redis-cluster:// URL";
    return std::nullopt;
  }
  std::stringstream list(c.url_.substr(prefix.size()));
  std::string seed;
  while (std::getline(list, seed, ',')) {
    size_t colon = seed.rfind(':');
    if (colon == std::string::npos) continue;
    c.seed_ports_.push_back(std::atoi(seed.c_str() + colon + 1));
  }
  if (c.seed_ports_.empty()) {
    *why = "QS_TEST_REDIS_CLUSTER_URL names no host:port";
    return std::nullopt;
  }
  return c;
}

std::string TestCluster::Cli(int port, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"redis-cli", "-h", "127.0.0.1", "-p",
                                std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, "", {}, std::chrono::seconds(20)).out;
}

std::vector<ClusterNode> TestCluster::Nodes() const {
  for (int port : seed_ports_) {
    std::string out = Cli(port, {"cluster", "nodes"});
    if (out.empty()) continue;
    std::vector<ClusterNode> nodes;
    std::stringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      std::stringstream f(line);
      std::string id, address, flags, master, ping, pong, epoch, link;
      if (!(f >> id >> address >> flags >> master >> ping >> pong >> epoch >>
            link)) {
        continue;
      }
      ClusterNode n;
      n.id = id;
      size_t colon = address.rfind(':');
      n.port = std::atoi(address.c_str() + colon + 1);  // stops at '@'
      n.master = flags.find("master") != std::string::npos;
      n.failed = flags.find("fail") != std::string::npos;
      if (master != "-") n.master_id = master;
      std::string range;
      while (f >> range) {
        if (range.front() == '[') continue;  // a slot being migrated
        size_t dash = range.find('-');
        int first = std::atoi(range.c_str());
        int last = dash == std::string::npos
                       ? first
                       : std::atoi(range.c_str() + dash + 1);
        n.slots.push_back({first, last});
      }
      nodes.push_back(std::move(n));
    }
    return nodes;
  }
  return {};
}

std::vector<ClusterNode> TestCluster::Masters() const {
  std::vector<ClusterNode> out;
  for (ClusterNode& n : Nodes()) {
    if (n.master && !n.failed && !n.slots.empty()) out.push_back(n);
  }
  return out;
}

int TestCluster::MasterOfSlot(int slot) const {
  for (const ClusterNode& n : Masters()) {
    for (auto [first, last] : n.slots) {
      if (slot >= first && slot <= last) return n.port;
    }
  }
  return 0;
}

void TestCluster::FlushAll() const {
  for (const ClusterNode& n : Masters()) Cli(n.port, {"flushall"});
}

bool TestCluster::WaitHealthy(int timeout_ms) const {
  return Eventually(
      [&] {
        std::vector<ClusterNode> nodes = Nodes();
        if (nodes.empty()) return false;
        for (const ClusterNode& n : nodes) {
          if (n.failed) continue;
          std::string info = Cli(n.port, {"cluster", "info"});
          if (info.find("cluster_state:ok") == std::string::npos) return false;
        }
        return true;
      },
      timeout_ms);
}

}  // namespace qs::testing
