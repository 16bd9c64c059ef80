#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "api/status_service.h"
#include "common/cidr.h"
#include "common/status.h"
#include "common/worker_pool.h"
#include "config/config.h"
#include "http/lifecycle.h"
#include "metrics/metrics.h"

namespace Pistache::Http {
class Endpoint;
}

namespace qs::http {

class ConnectionRegistry;

struct PublicServerOptions {
  config::HostPort listen;
  int threads = 2;
  std::vector<Cidr> trusted_proxies;
  // An idle keep-alive connection is closed after this long.
  std::chrono::milliseconds keepalive_timeout{75000};
};

// The public listener: GET /query/status (and its CORS preflight) on the
// Pistache event loop, with the blocking work handed to `workers`.
class PublicServer {
 public:
  PublicServer(PublicServerOptions options, api::StatusService& service,
               WorkerPool& workers, Lifecycle& lifecycle,
               metrics::Metrics& metrics);
  ~PublicServer();

  // Binds and starts serving on background threads.
  Status Start();
  // The bound port (useful with port 0).
  uint16_t port() const;
  // Stops at once: open connections are dropped, and replies sent after
  // this are discarded. Drain first, and stop every producer of replies
  // (the Redis counter, the workers) before calling it.
  void Shutdown();

 private:
  PublicServerOptions options_;
  api::StatusService& service_;
  WorkerPool& workers_;
  Lifecycle& lifecycle_;
  metrics::Metrics& metrics_;
  std::shared_ptr<ConnectionRegistry> registry_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
};

}  // namespace qs::http
