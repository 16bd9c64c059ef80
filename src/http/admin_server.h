#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "config/config.h"
#include "http/lifecycle.h"
#include "metrics/metrics.h"

namespace Pistache::Http {
class Endpoint;
}

namespace qs::http {

// What /readyz reports: each dependency's state, and whether it decides.
struct Readiness {
  bool ready = false;
  std::string body;  // JSON
};

// The admin listener: /healthz (alive), /readyz (ready for traffic),
// /metrics (Prometheus text format). Kept off the public port so neither
// metrics nor probes are reachable by API clients.
class AdminServer {
 public:
  using ReadinessCheck = std::function<Readiness()>;

  AdminServer(config::HostPort listen, Lifecycle& lifecycle,
              metrics::Metrics& metrics, ReadinessCheck check);
  ~AdminServer();

  Status Start();
  uint16_t port() const;
  void Shutdown();

 private:
  config::HostPort listen_;
  Lifecycle& lifecycle_;
  metrics::Metrics& metrics_;
  ReadinessCheck check_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
};

}  // namespace qs::http
