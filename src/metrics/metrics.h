#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/content_coding.h"
#include "common/worker_pool.h"

namespace qs::metrics {

// The bounded label sets. Each value is spelled once, in metrics.cc, and
// read with LabelValue; callers and tests name the enumerator. The values
// are the exported ones that dashboards and alert rules match.

// decision: allowed, limited, fail_open, fail_closed.
enum class Decision { kAllowed, kLimited, kFailOpen, kFailClosed };
// scope: key, address.
enum class RateScope { kKey, kAddress };
// reason: missing, unknown, revoked, expired, mismatch.
enum class AuthFailureReason {
  kMissing,
  kUnknown,
  kRevoked,
  kExpired,
  kMismatch
};
// operation of PostgreSQL: read_status, find_key, ping.
enum class PostgresOperation { kReadStatus, kFindKey, kPing };
// operation of Redis: incr_window, ping.
enum class RedisOperation { kIncrWindow, kPing };
// pool: postgres.
enum class Pool { kPostgres };
// state of a pooled connection: idle, in_use.
enum class PoolState { kIdle, kInUse };
// result of a cache lookup: hit, miss, bypass (the key cache has no bypass).
enum class CacheResult { kHit, kMiss, kBypass };
// listener: public, admin.
enum class Listener { kPublic, kAdmin };
// reason the Redis queue gave a count up: full, expired, stopped.
enum class QueueRejection { kFull, kExpired, kStopped };
// reason a worker task was dropped: deadline, client_gone, stopped.
using WorkerDrop = WorkerPoolObserver::Drop;
// reason a held request was woken: change, timeout, drain, feed_down,
// client_gone.
enum class WakeReason { kChange, kTimeout, kDrain, kFeedDown, kClientGone };

const char* LabelValue(Decision v);
const char* LabelValue(RateScope v);
const char* LabelValue(AuthFailureReason v);
const char* LabelValue(PostgresOperation v);
const char* LabelValue(RedisOperation v);
const char* LabelValue(Pool v);
const char* LabelValue(PoolState v);
const char* LabelValue(CacheResult v);
const char* LabelValue(Listener v);
const char* LabelValue(QueueRejection v);
const char* LabelValue(WorkerDrop v);
const char* LabelValue(WakeReason v);

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

  // Rate limiting.
  prometheus::Counter& RateLimitDecision(Decision decision, RateScope scope);
  // Authentication failures.
  prometheus::Counter& AuthFailure(AuthFailureReason reason);
  prometheus::Counter& key_cache_hits() { return *key_cache_hits_; }
  prometheus::Counter& key_cache_misses() { return *key_cache_misses_; }

  // Backends, by operation.
  prometheus::Histogram& PostgresDuration(PostgresOperation operation);
  prometheus::Counter& PostgresErrors(PostgresOperation operation);
  prometheus::Histogram& RedisDuration(RedisOperation operation);
  prometheus::Counter& RedisErrors(RedisOperation operation);

  // Connection pools.
  prometheus::Gauge& PoolConnections(Pool pool, PoolState state);
  prometheus::Histogram& PoolWait(Pool pool);
  prometheus::Counter& PoolWaitTimeouts(Pool pool);

  // Per-instance status cache (LISTEN/NOTIFY driven): a hit, a miss, or a
  // bypass (the change feed is down: direct read).
  prometheus::Counter& StatusCache(CacheResult result);
  prometheus::Counter& status_cache_invalidations() {
    return *status_cache_invalidations_;
  }
  prometheus::Gauge& ready() { return *ready_; }

  // Connection layer (http/connection_guard.h): open connections by
  // listener (public or admin), and pauses of the accept loop while the
  // process had no file descriptor left.
  prometheus::Gauge& Connections(Listener listener);
  prometheus::Counter& accept_backoffs() { return *accept_backoffs_; }

  // --- Conditional and held requests (If-None-Match, Prefer: wait). ---
  // Answers of 304 Not Modified, held or not.
  prometheus::Counter& not_modified() { return *not_modified_; }
  // Requests held now, waiting for a change.
  prometheus::Gauge& held_requests() { return *held_requests_; }
  // Held requests woken, by reason.
  prometheus::Counter& Wakeups(WakeReason reason);
  // From a change notification's arrival to the answer it caused (the 200
  // of each request it woke; a request whose tag still matched, and was
  // held again, is not observed).
  prometheus::Histogram& wake_latency() { return *wake_latency_; }

  // --- Overload bounds: the limiter's Redis queue, the worker queue, the
  // over-limit memory and the negative key cache. ---
  // Requests waiting for the Redis I/O thread (queued, not yet sent).
  prometheus::Gauge& redis_queue_depth() { return *redis_queue_depth_; }
  // Counts the Redis queue refused or gave up on, answered by the failure
  // mode at once: it was full, the count waited past the Redis timeout
  // (expired), or the counter was shutting down (stopped).
  prometheus::Counter& RedisQueueRejections(QueueRejection reason);
  // Script calls sent, and the requests they counted (more requests than
  // calls: concurrent requests of one bucket shared a call).
  prometheus::Counter& redis_count_calls() { return *redis_count_calls_; }
  prometheus::Counter& redis_counted_requests() {
    return *redis_counted_requests_;
  }
  // Denials answered from the over-limit memory, with no Redis command.
  prometheus::Counter& RateLimitRemembered(RateScope scope);
  // Unknown tokens answered from the negative key cache.
  prometheus::Counter& key_cache_negative_hits() {
    return *key_cache_negative_hits_;
  }
  // Tasks waiting for a worker.
  prometheus::Gauge& worker_queue_depth() { return *worker_queue_depth_; }
  // Tasks dropped instead of run.
  prometheus::Counter& WorkerTasksDropped(WorkerDrop reason);
  // Exports what a WorkerPool reports into the two metrics above.
  WorkerPoolObserver& worker_pool_observer() { return worker_pool_export_; }

  // --- Content codings of 200 bodies (label coding: identity, gzip,
  // zstd). ---
  // Counts one 200 body of /query/status sent in `coding`: `sent_bytes` as
  // sent, `identity_bytes` before the coding, and, when `compressed`, one
  // compression of its tail (a cached page is compressed once per coding;
  // serving it again is not a compression).
  void CountBody(Encoding coding, size_t sent_bytes, size_t identity_bytes,
                 bool compressed);
  prometheus::Counter& ResponseBodyBytes(Encoding coding) {
    return *body_bytes_[static_cast<int>(coding)];
  }
  prometheus::Counter& ResponseBodyIdentityBytes(Encoding coding) {
    return *body_identity_bytes_[static_cast<int>(coding)];
  }
  // The identity series stays 0: identity is never compressed.
  prometheus::Counter& ResponseCompressions(Encoding coding) {
    return *compressions_[static_cast<int>(coding)];
  }

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
  void RegisterWaitMetrics();
  prometheus::Counter* not_modified_;
  prometheus::Gauge* held_requests_;
  prometheus::Family<prometheus::Counter>* wakeups_;
  prometheus::Histogram* wake_latency_;
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
    void Bind(prometheus::Gauge* depth,
              prometheus::Family<prometheus::Counter>* dropped);
    void QueueDepthChanged(int delta) override;
    void TaskDropped(Drop why) override;

   private:
    prometheus::Gauge* depth_ = nullptr;
    prometheus::Counter* dropped_[3] = {};  // indexed by Drop
  };
  WorkerPoolExport worker_pool_export_;
  // --- end of the overload block ---

  void RegisterCodingMetrics();
  // Indexed by Encoding.
  prometheus::Counter* body_bytes_[3] = {};
  prometheus::Counter* body_identity_bytes_[3] = {};
  prometheus::Counter* compressions_[3] = {};

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
