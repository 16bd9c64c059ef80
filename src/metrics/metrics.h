#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/worker_pool.h"

namespace qs::metrics {

// Every metric the service exports, registered once on its own registry.
// Labels are bounded sets (route templates, status codes, fixed reasons):
// never a raw path, a schedule id or a key.
//
// Thread-safe: prometheus-cpp metrics are atomic, and Family::Add is locked.
// Hot-path callers should resolve a labelled child once and keep the
// reference (children live as long as the registry).
class Metrics {
 public:
  Metrics();

  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }
  // The text exposition format of everything registered.
  std::string Serialize() const;

  // HTTP edge.
  prometheus::Counter& Requests(const std::string& method,
                                const std::string& route, int status);
  prometheus::Histogram& RequestDuration(const std::string& method,
                                         const std::string& route);
  prometheus::Gauge& in_flight() { return *in_flight_; }
  prometheus::Counter& response_rows() { return *response_rows_; }

  // Rate limiting: decision is allowed, limited, fail_open or fail_closed;
  // scope is key or address.
  prometheus::Counter& RateLimitDecision(const std::string& decision,
                                         const std::string& scope);
  // Authentication failures: missing, unknown, revoked, expired, mismatch.
  prometheus::Counter& AuthFailure(const std::string& reason);
  prometheus::Counter& key_cache_hits() { return *key_cache_hits_; }
  prometheus::Counter& key_cache_misses() { return *key_cache_misses_; }

  // Backends: operation is a fixed statement or command name.
  prometheus::Histogram& PostgresDuration(const std::string& operation);
  prometheus::Counter& PostgresErrors(const std::string& operation);
  prometheus::Histogram& RedisDuration(const std::string& operation);
  prometheus::Counter& RedisErrors(const std::string& operation);

  // Connection pools: pool is postgres or redis.
  prometheus::Gauge& PoolConnections(const std::string& pool,
                                     const std::string& state);
  prometheus::Histogram& PoolWait(const std::string& pool);
  prometheus::Counter& PoolWaitTimeouts(const std::string& pool);

  // Per-instance status cache (LISTEN/NOTIFY driven).
  // result: hit, miss or bypass (the change feed is down: direct read).
  prometheus::Counter& StatusCache(const std::string& result);
  prometheus::Counter& status_cache_invalidations() {
    return *status_cache_invalidations_;
  }
  prometheus::Gauge& ready() { return *ready_; }

  // Connection layer (http/connection_guard.h): open connections by
  // listener (public or admin), and pauses of the accept loop while the
  // process had no file descriptor left.
  prometheus::Gauge& Connections(const std::string& listener);
  prometheus::Counter& accept_backoffs() { return *accept_backoffs_; }

  // --- Overload bounds: the limiter's Redis queue, the worker queue, the
  // over-limit memory and the negative key cache. ---
  // Requests waiting for the Redis I/O thread (queued, not yet sent).
  prometheus::Gauge& redis_queue_depth() { return *redis_queue_depth_; }
  // Counts the Redis queue refused or gave up on, answered by the failure
  // mode at once: reason full, expired (waited past the Redis timeout) or
  // stopped (the counter was shutting down).
  prometheus::Counter& RedisQueueRejections(const std::string& reason);
  // Script calls sent, and the requests they counted (more requests than
  // calls: concurrent requests of one bucket shared a call).
  prometheus::Counter& redis_count_calls() { return *redis_count_calls_; }
  prometheus::Counter& redis_counted_requests() {
    return *redis_counted_requests_;
  }
  // Denials answered from the over-limit memory, with no Redis command;
  // scope is key or address.
  prometheus::Counter& RateLimitRemembered(const std::string& scope);
  // Unknown tokens answered from the negative key cache.
  prometheus::Counter& key_cache_negative_hits() {
    return *key_cache_negative_hits_;
  }
  // Tasks waiting for a worker.
  prometheus::Gauge& worker_queue_depth() { return *worker_queue_depth_; }
  // Tasks dropped instead of run: reason deadline, client_gone or stopped.
  prometheus::Counter& WorkerTasksDropped(const std::string& reason);
  // Exports what a WorkerPool reports into the two metrics above.
  WorkerPoolObserver& worker_pool_observer() { return worker_pool_export_; }

 private:
  // The log queue's figures (log/log.h), brought up to date on each scrape.
  void SyncLogFigures() const;
  prometheus::Counter* log_dropped_;
  prometheus::Gauge* log_queued_bytes_;
  mutable std::mutex log_sync_mu_;
  mutable uint64_t log_dropped_reported_ = 0;  // guarded by log_sync_mu_

  prometheus::Family<prometheus::Gauge>* connections_;
  prometheus::Counter* accept_backoffs_;
  void RegisterOverloadMetrics();
  prometheus::Gauge* redis_queue_depth_;
  prometheus::Family<prometheus::Counter>* redis_queue_rejections_;
  prometheus::Counter* redis_count_calls_;
  prometheus::Counter* redis_counted_requests_;
  prometheus::Family<prometheus::Counter>* ratelimit_remembered_;
  prometheus::Counter* key_cache_negative_hits_;
  prometheus::Gauge* worker_queue_depth_;
  prometheus::Family<prometheus::Counter>* worker_dropped_;
  class WorkerPoolExport final : public WorkerPoolObserver {
   public:
    void Bind(prometheus::Gauge* depth, prometheus::Counter* deadline,
              prometheus::Counter* client_gone, prometheus::Counter* stopped);
    void QueueDepthChanged(int delta) override;
    void TaskDropped(Drop why) override;

   private:
    prometheus::Gauge* depth_ = nullptr;
    prometheus::Counter* dropped_[3] = {};  // indexed by Drop
  };
  WorkerPoolExport worker_pool_export_;
  // --- end of the overload block ---

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* request_duration_;
  prometheus::Gauge* in_flight_;
  prometheus::Counter* response_rows_;
  prometheus::Family<prometheus::Counter>* ratelimit_;
  prometheus::Family<prometheus::Counter>* auth_failures_;
  prometheus::Counter* key_cache_hits_;
  prometheus::Counter* key_cache_misses_;
  prometheus::Family<prometheus::Histogram>* pg_duration_;
  prometheus::Family<prometheus::Counter>* pg_errors_;
  prometheus::Family<prometheus::Histogram>* redis_duration_;
  prometheus::Family<prometheus::Counter>* redis_errors_;
  prometheus::Family<prometheus::Gauge>* pool_connections_;
  prometheus::Family<prometheus::Histogram>* pool_wait_;
  prometheus::Family<prometheus::Counter>* pool_wait_timeouts_;
  prometheus::Family<prometheus::Counter>* status_cache_;
  prometheus::Counter* status_cache_invalidations_;
  prometheus::Gauge* ready_;
};

}  // namespace qs::metrics
