#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "config/config.h"
#include "http/lifecycle.h"
#include "metrics/metrics.h"

namespace Pistache::Http {
class Endpoint;
}

namespace qs::http {

class ConnectionRegistry;

// What /readyz reports: each dependency's state, and whether it decides.
struct Readiness {
  bool ready = false;
  std::string body;  // JSON
};

// Runs a readiness check (which may block on PostgreSQL and Redis, within
// their timeouts) on a thread of its own, every `interval`, so that /readyz
// never waits on a dependency: it reads the latest result. A result older
// than `max_age` (the check itself is stuck) reads as not ready.
class ReadinessMonitor {
 public:
  using Check = std::function<Readiness()>;
  ReadinessMonitor(Check check, metrics::Metrics& metrics,
                   std::chrono::milliseconds interval,
                   std::chrono::milliseconds max_age);
  ~ReadinessMonitor();
  ReadinessMonitor(const ReadinessMonitor&) = delete;
  ReadinessMonitor& operator=(const ReadinessMonitor&) = delete;

  // Runs the first check on the caller's thread (so the ready gauge is right
  // from the first scrape), then starts the thread.
  void Start();
  void Stop();
  // The latest result; never blocks on a dependency.
  Readiness Latest() const;

 private:
  void Run();

  Check check_;
  metrics::Metrics& metrics_;
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds max_age_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  Readiness latest_;  // guarded by mu_
  std::chrono::steady_clock::time_point latest_at_;  // guarded by mu_
  std::thread thread_;
};

// The admin listener: /healthz (alive), /readyz (ready for traffic),
// /metrics (Prometheus text format). Kept off the public port so neither
// metrics nor probes are reachable by API clients. Two event-loop threads,
// and no handler here ever blocks: /healthz answers at once whatever the
// dependencies do.
class AdminServer {
 public:
  AdminServer(config::HostPort listen, Lifecycle& lifecycle,
              metrics::Metrics& metrics, const ReadinessMonitor& readiness);
  ~AdminServer();

  Status Start();
  uint16_t port() const;
  void Shutdown();

 private:
  config::HostPort listen_;
  Lifecycle& lifecycle_;
  metrics::Metrics& metrics_;
  const ReadinessMonitor& readiness_;
  std::shared_ptr<ConnectionRegistry> registry_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
};

}  // namespace qs::http
