#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/status.h"
#include "metrics/metrics.h"
#include "store/socket_deadlines.h"

namespace qs::store {

struct PgPoolOptions {
  std::string url;
  int size = 16;
  // Bounds every wait: for a free connection, for connecting, and (as
  // statement_timeout) for each statement.
  std::chrono::milliseconds timeout{2000};
};

// The connection string with timeouts added, so that no libpq call can block
// for long: connect_timeout, tcp_user_timeout and keepalives. statement
// timeout is set per connection after connecting.
std::string WithTimeouts(const std::string& url,
                         std::chrono::milliseconds timeout);

// A fixed-size pool of PostgreSQL connections. Each connection is used by one
// thread at a time (libpqxx has no locking). Connections are made lazily,
// prepared once each (by `prepare`), and thrown away when they break; the
// next use reconnects, so the pool heals by itself after a database restart.
class PgPool {
 public:
  using Prepare = std::function<void(pqxx::connection&)>;

  PgPool(PgPoolOptions options, Prepare prepare, metrics::Metrics& metrics);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Runs `fn` on a connection. Never throws: a failure to get or use a
  // connection becomes kUnavailable (the database did not answer, timed out
  // or dropped the connection) or kInternal (anything else), counted under
  // `operation` in the metrics.
  template <typename T>
  Result<T> Run(const std::string& operation,
                const std::function<T(pqxx::connection&)>& fn);

  // A trivial round trip, for readiness.
  Status Ping();

 private:
  struct Lease {
    int slot = -1;
    pqxx::connection* conn = nullptr;
  };
  Result<Lease> Acquire(const std::string& operation);
  // `broken` discards the connection.
  void Release(const Lease& lease, bool broken);
  Error Classify(const std::string& operation, const std::exception& e,
                 bool* broken);
  void UpdateGauges();

  PgPoolOptions options_;
  std::string conninfo_;
  Prepare prepare_;
  metrics::Metrics& metrics_;
  prometheus::Histogram& wait_;
  prometheus::Counter& wait_timeouts_;
  prometheus::Gauge& idle_;
  prometheus::Gauge& in_use_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> conns_;
  std::vector<int> free_;  // slots not leased; their connection may be null
  SocketDeadlines deadlines_;
};

template <typename T>
Result<T> PgPool::Run(const std::string& operation,
                      const std::function<T(pqxx::connection&)>& fn) {
  auto lease = Acquire(operation);
  if (!lease.ok()) return lease.error();
  auto& histogram = metrics_.PostgresDuration(operation);
  auto start = std::chrono::steady_clock::now();
  // Half a timeout of grace over statement_timeout, so the server's own
  // cancellation (which keeps the connection) wins when it can.
  int armed = deadlines_.Arm(lease.value().conn->sock(),
                             start + options_.timeout + options_.timeout / 2);
  // Disarmed before Release: once released, the connection may be closed
  // and its fd number reused.
  try {
    T value = fn(*lease.value().conn);
    deadlines_.Disarm(armed);
    histogram.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
    Release(lease.value(), false);
    return value;
  } catch (const std::exception& e) {
    deadlines_.Disarm(armed);
    bool broken = false;
    Error error = Classify(operation, e, &broken);
    Release(lease.value(), broken);
    return error;
  }
}

}  // namespace qs::store
