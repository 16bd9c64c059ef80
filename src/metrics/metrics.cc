#include "metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include <array>
#include <cstddef>
#include <map>
#include <string>

#include "log/log.h"

namespace qs::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// 100 us .. 10 s: polls answered from memory take well under a millisecond,
// a slow database or a 10,000-row page takes far longer.
const Histogram::BucketBoundaries& LatencyBuckets() {
  static const Histogram::BucketBoundaries kBuckets{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return kBuckets;
}

// Every value of each label set, in enumerator order: the one spelling of
// each, and the order pre-registration walks.
constexpr const char* kDecisions[] = {"allowed", "limited", "fail_open",
                                      "fail_closed"};
constexpr const char* kRateScopes[] = {"key", "address"};
constexpr const char* kAuthFailureReasons[] = {"missing", "unknown", "revoked",
                                               "expired", "mismatch"};
constexpr const char* kPostgresOperations[] = {"read_status", "find_key",
                                               "ping"};
constexpr const char* kRedisOperations[] = {"incr_window", "ping"};
constexpr const char* kPools[] = {"postgres"};
constexpr const char* kPoolStates[] = {"idle", "in_use"};
constexpr const char* kCacheResults[] = {"hit", "miss", "bypass"};
constexpr const char* kListeners[] = {"public", "admin"};
constexpr const char* kQueueRejections[] = {"full", "expired", "stopped"};
constexpr const char* kWorkerDrops[] = {"deadline", "client_gone", "stopped"};
constexpr const char* kWakeReasons[] = {"change", "timeout", "drain",
                                        "feed_down", "client_gone"};

// Each table has a value for every enumerator, the last one included.
template <typename E, size_t N>
constexpr bool Covers(const char* const (&)[N], E last) {
  return static_cast<size_t>(last) + 1 == N;
}
static_assert(Covers(kDecisions, Decision::kFailClosed));
static_assert(Covers(kRateScopes, RateScope::kAddress));
static_assert(Covers(kAuthFailureReasons, AuthFailureReason::kMismatch));
static_assert(Covers(kPostgresOperations, PostgresOperation::kPing));
static_assert(Covers(kRedisOperations, RedisOperation::kPing));
static_assert(Covers(kPools, Pool::kPostgres));
static_assert(Covers(kPoolStates, PoolState::kInUse));
static_assert(Covers(kCacheResults, CacheResult::kBypass));
static_assert(Covers(kListeners, Listener::kAdmin));
static_assert(Covers(kQueueRejections, QueueRejection::kStopped));
static_assert(Covers(kWorkerDrops, WorkerDrop::kStopped));
static_assert(Covers(kWakeReasons, WakeReason::kClientGone));

// Every enumerator of E, whose values are listed in `values`.
template <typename E, size_t N>
constexpr auto All(const char* const (&)[N]) {
  std::array<E, N> all{};
  for (size_t i = 0; i < N; ++i) all[i] = static_cast<E>(i);
  return all;
}

}  // namespace

const char* LabelValue(Decision v) { return kDecisions[static_cast<int>(v)]; }
const char* LabelValue(RateScope v) { return kRateScopes[static_cast<int>(v)]; }
const char* LabelValue(AuthFailureReason v) {
  return kAuthFailureReasons[static_cast<int>(v)];
}
const char* LabelValue(PostgresOperation v) {
  return kPostgresOperations[static_cast<int>(v)];
}
const char* LabelValue(RedisOperation v) {
  return kRedisOperations[static_cast<int>(v)];
}
const char* LabelValue(Pool v) { return kPools[static_cast<int>(v)]; }
const char* LabelValue(PoolState v) { return kPoolStates[static_cast<int>(v)]; }
const char* LabelValue(CacheResult v) {
  return kCacheResults[static_cast<int>(v)];
}
const char* LabelValue(Listener v) { return kListeners[static_cast<int>(v)]; }
const char* LabelValue(QueueRejection v) {
  return kQueueRejections[static_cast<int>(v)];
}
const char* LabelValue(WorkerDrop v) {
  return kWorkerDrops[static_cast<int>(v)];
}
const char* LabelValue(WakeReason v) {
  return kWakeReasons[static_cast<int>(v)];
}

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  requests_ = &BuildCounter()
                   .Name("querystatus_http_requests_total")
                   .Help(
                       "HTTP requests answered, by method, route template "
                       "and status code")
                   .Register(r);
  request_duration_ = &BuildHistogram()
                           .Name("querystatus_http_request_duration_seconds")
                           .Help("Time from request parsed to response sent")
                           .Register(r);
  in_flight_ = &BuildGauge()
                    .Name("querystatus_http_requests_in_flight")
                    .Help("Requests being processed now")
                    .Register(r)
                    .Add({});
  response_rows_ = &BuildCounter()
                        .Name("querystatus_response_rows_total")
                        .Help("Result rows served in 200 responses")
                        .Register(r)
                        .Add({});
  ratelimit_ = &BuildCounter()
                    .Name("querystatus_ratelimit_decisions_total")
                    .Help("Rate-limit decisions by outcome and scope")
                    .Register(r);
  auth_failures_ = &BuildCounter()
                        .Name("querystatus_auth_failures_total")
                        .Help("Requests refused authentication, by reason")
                        .Register(r);
  auto& key_cache = BuildCounter()
                        .Name("querystatus_key_cache_lookups_total")
                        .Help("API key cache lookups by result")
                        .Register(r);
  key_cache_hits_ = &key_cache.Add({{"result", LabelValue(CacheResult::kHit)}});
  key_cache_misses_ =
      &key_cache.Add({{"result", LabelValue(CacheResult::kMiss)}});
  pg_duration_ = &BuildHistogram()
                      .Name("querystatus_postgres_query_duration_seconds")
                      .Help("PostgreSQL round trips by operation")
                      .Register(r);
  pg_errors_ = &BuildCounter()
                    .Name("querystatus_postgres_errors_total")
                    .Help("PostgreSQL failures by operation")
                    .Register(r);
  redis_duration_ = &BuildHistogram()
                         .Name("querystatus_redis_command_duration_seconds")
                         .Help("Redis round trips by operation")
                         .Register(r);
  redis_errors_ = &BuildCounter()
                       .Name("querystatus_redis_errors_total")
                       .Help("Redis failures by operation")
                       .Register(r);
  pool_connections_ = &BuildGauge()
                           .Name("querystatus_pool_connections")
                           .Help("Backend connections by pool and state")
                           .Register(r);
  pool_wait_ = &BuildHistogram()
                    .Name("querystatus_pool_wait_seconds")
                    .Help("Time spent waiting for a pooled connection")
                    .Register(r);
  pool_wait_timeouts_ =
      &BuildCounter()
           .Name("querystatus_pool_wait_timeouts_total")
           .Help("Waits for a pooled connection that timed out")
           .Register(r);
  status_cache_ = &BuildCounter()
                       .Name("querystatus_status_cache_lookups_total")
                       .Help("Per-instance status cache lookups by result")
                       .Register(r);
  status_cache_invalidations_ =
      &BuildCounter()
           .Name("querystatus_status_cache_invalidations_total")
           .Help("Change notifications applied to the status cache")
           .Register(r)
           .Add({});
  ready_ = &BuildGauge()
                .Name("querystatus_ready")
                .Help("1 while the instance reports ready")
                .Register(r)
                .Add({});
  // Series that alerts use with increase() exist from the start at 0, so
  // the first burst is seen and dashboards show 0 rather than no data.
  for (Decision decision : All<Decision>(kDecisions)) {
    for (RateScope scope : All<RateScope>(kRateScopes)) {
      RateLimitDecision(decision, scope);
    }
  }
  for (PostgresOperation op : All<PostgresOperation>(kPostgresOperations)) {
    PostgresErrors(op);
  }
  RedisErrors(RedisOperation::kIncrWindow);
  for (AuthFailureReason reason : All<AuthFailureReason>(kAuthFailureReasons)) {
    AuthFailure(reason);
  }
  connections_ = &BuildGauge()
                      .Name("querystatus_http_connections")
                      .Help("Client connections open now, by listener")
                      .Register(r);
  for (Listener listener : All<Listener>(kListeners)) Connections(listener);
  accept_backoffs_ =
      &BuildCounter()
           .Name("querystatus_http_accept_backoffs_total")
           .Help(
               "Pauses of the accept loop because the process had no free "
               "file descriptor")
           .Register(r)
           .Add({});
  log_dropped_ = &BuildCounter()
                      .Name("querystatus_log_dropped_lines_total")
                      .Help(
                          "Log lines dropped because the log queue was full "
                          "or a write failed")
                      .Register(r)
                      .Add({});
  log_queued_bytes_ = &BuildGauge()
                           .Name("querystatus_log_queued_bytes")
                           .Help("Log bytes queued and not yet written")
                           .Register(r)
                           .Add({});
  RegisterOverloadMetrics();
  RegisterWaitMetrics();
  RegisterCodingMetrics();
  BuildGauge()
      .Name("querystatus_build_info")
      .Help("Build of the running binary; always 1")
      .Register(r)
      .Add({{"version", QS_VERSION}, {"commit", QS_GIT_COMMIT}})
      .Set(1);
}

void Metrics::SyncLogFigures() const {
  std::lock_guard<std::mutex> lock(log_sync_mu_);
  const uint64_t dropped = log::DroppedLines();
  if (dropped > log_dropped_reported_) {
    log_dropped_->Increment(
        static_cast<double>(dropped - log_dropped_reported_));
    log_dropped_reported_ = dropped;
  }
  log_queued_bytes_->Set(static_cast<double>(log::QueuedBytes()));
}

std::string Metrics::Serialize() const {
  SyncLogFigures();
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

prometheus::Counter& Metrics::Requests(const std::string& method,
                                       const std::string& route, int status) {
  return requests_->Add({{"method", method},
                         {"route", route},
                         {"status", std::to_string(status)}});
}

prometheus::Histogram& Metrics::RequestDuration(const std::string& method,
                                                const std::string& route) {
  return request_duration_->Add({{"method", method}, {"route", route}},
                                LatencyBuckets());
}

prometheus::Counter& Metrics::RateLimitDecision(Decision decision,
                                                RateScope scope) {
  return ratelimit_->Add(
      {{"decision", LabelValue(decision)}, {"scope", LabelValue(scope)}});
}

prometheus::Counter& Metrics::AuthFailure(AuthFailureReason reason) {
  return auth_failures_->Add({{"reason", LabelValue(reason)}});
}

prometheus::Histogram& Metrics::PostgresDuration(PostgresOperation operation) {
  return pg_duration_->Add({{"operation", LabelValue(operation)}},
                           LatencyBuckets());
}

prometheus::Counter& Metrics::PostgresErrors(PostgresOperation operation) {
  return pg_errors_->Add({{"operation", LabelValue(operation)}});
}

prometheus::Histogram& Metrics::RedisDuration(RedisOperation operation) {
  return redis_duration_->Add({{"operation", LabelValue(operation)}},
                              LatencyBuckets());
}

prometheus::Counter& Metrics::RedisErrors(RedisOperation operation) {
  return redis_errors_->Add({{"operation", LabelValue(operation)}});
}

prometheus::Gauge& Metrics::PoolConnections(Pool pool, PoolState state) {
  return pool_connections_->Add(
      {{"pool", LabelValue(pool)}, {"state", LabelValue(state)}});
}

prometheus::Histogram& Metrics::PoolWait(Pool pool) {
  return pool_wait_->Add({{"pool", LabelValue(pool)}}, LatencyBuckets());
}

prometheus::Counter& Metrics::PoolWaitTimeouts(Pool pool) {
  return pool_wait_timeouts_->Add({{"pool", LabelValue(pool)}});
}

prometheus::Counter& Metrics::StatusCache(CacheResult result) {
  return status_cache_->Add({{"result", LabelValue(result)}});
}

prometheus::Gauge& Metrics::Connections(Listener listener) {
  return connections_->Add({{"listener", LabelValue(listener)}});
}

// --- Overload bounds: the limiter's Redis queue, the worker queue, the
// over-limit memory and the negative key cache. ---

void Metrics::RegisterOverloadMetrics() {
  auto& r = *registry_;
  redis_queue_depth_ =
      &BuildGauge()
           .Name("querystatus_redis_queue_depth")
           .Help("Rate-limit counts waiting to be sent to Redis")
           .Register(r)
           .Add({});
  redis_queue_rejections_ =
      &BuildCounter()
           .Name("querystatus_redis_queue_rejections_total")
           .Help(
               "Rate-limit counts the Redis queue refused or gave up on, by "
               "reason; the failure mode decided them")
           .Register(r);
  for (QueueRejection reason : All<QueueRejection>(kQueueRejections)) {
    RedisQueueRejections(reason);
  }
  auto& count_calls = BuildCounter()
                          .Name("querystatus_redis_count_calls_total")
                          .Help("Counting script calls sent to Redis")
                          .Register(r);
  redis_count_calls_ = &count_calls.Add({});
  redis_counted_requests_ =
      &BuildCounter()
           .Name("querystatus_redis_counted_requests_total")
           .Help("Requests counted by those script calls")
           .Register(r)
           .Add({});
  ratelimit_remembered_ =
      &BuildCounter()
           .Name("querystatus_ratelimit_remembered_denials_total")
           .Help(
               "Denials answered from the over-limit memory without a Redis "
               "command, by scope")
           .Register(r);
  for (RateScope scope : All<RateScope>(kRateScopes)) {
    RateLimitRemembered(scope);
  }
  key_cache_negative_hits_ =
      &BuildCounter()
           .Name("querystatus_key_cache_negative_hits_total")
           .Help("Unknown tokens answered from the negative key cache")
           .Register(r)
           .Add({});
  worker_queue_depth_ = &BuildGauge()
                             .Name("querystatus_worker_queue_depth")
                             .Help("Tasks waiting for a worker thread")
                             .Register(r)
                             .Add({});
  worker_dropped_ =
      &BuildCounter()
           .Name("querystatus_worker_tasks_dropped_total")
           .Help(
               "Worker tasks dropped instead of run, by reason (deadline "
               "passed, client gone, pool stopped)")
           .Register(r);
  worker_pool_export_.Bind(worker_queue_depth_, worker_dropped_);
}

void Metrics::WorkerPoolExport::Bind(
    prometheus::Gauge* depth,
    prometheus::Family<prometheus::Counter>* dropped) {
  depth_ = depth;
  for (WorkerDrop why : All<WorkerDrop>(kWorkerDrops)) {
    dropped_[static_cast<int>(why)] =
        &dropped->Add({{"reason", LabelValue(why)}});
  }
}

void Metrics::WorkerPoolExport::QueueDepthChanged(int delta) {
  depth_->Increment(delta);
}

void Metrics::WorkerPoolExport::TaskDropped(Drop why) {
  dropped_[static_cast<int>(why)]->Increment();
}

prometheus::Counter& Metrics::RedisQueueRejections(QueueRejection reason) {
  return redis_queue_rejections_->Add({{"reason", LabelValue(reason)}});
}

prometheus::Counter& Metrics::RateLimitRemembered(RateScope scope) {
  return ratelimit_remembered_->Add({{"scope", LabelValue(scope)}});
}

prometheus::Counter& Metrics::WorkerTasksDropped(WorkerDrop reason) {
  return worker_dropped_->Add({{"reason", LabelValue(reason)}});
}

// --- end of the overload block ---

void Metrics::RegisterWaitMetrics() {
  prometheus::Registry& r = *registry_;
  not_modified_ = &BuildCounter()
                       .Name("querystatus_not_modified_total")
                       .Help("Answers of 304 Not Modified, held or not")
                       .Register(r)
                       .Add({});
  held_requests_ = &BuildGauge()
                        .Name("querystatus_held_requests")
                        .Help("Requests held now, waiting for a change")
                        .Register(r)
                        .Add({});
  wakeups_ = &BuildCounter()
                  .Name("querystatus_wakeups_total")
                  .Help("Held requests woken, by reason")
                  .Register(r);
  for (WakeReason reason : All<WakeReason>(kWakeReasons)) Wakeups(reason);
  // 100 us .. 10 s, as the request latency: the aim is well under 100 ms.
  wake_latency_ =
      &BuildHistogram()
           .Name("querystatus_wake_latency_seconds")
           .Help("From a change notification's arrival to the answer it woke")
           .Register(r)
           .Add({}, LatencyBuckets());
}

prometheus::Counter& Metrics::Wakeups(WakeReason reason) {
  return wakeups_->Add({{"reason", LabelValue(reason)}});
}

// --- Content codings of 200 bodies (api/body_coding.h). ---

void Metrics::RegisterCodingMetrics() {
  auto& r = *registry_;
  auto& sent = BuildCounter()
                   .Name("querystatus_response_body_bytes_total")
                   .Help(
                       "Bytes of 200 bodies of /query/status as sent, after "
                       "their content coding, by coding")
                   .Register(r);
  auto& identity =
      BuildCounter()
          .Name("querystatus_response_body_identity_bytes_total")
          .Help(
              "Bytes the same 200 bodies have before their content coding, "
              "by the coding they were sent in")
          .Register(r);
  auto& compressions =
      BuildCounter()
          .Name("querystatus_response_compressions_total")
          .Help(
              "Body tails compressed, by coding: once per cached page and "
              "coding, or per response for a page read past the cache")
          .Register(r);
  for (Encoding coding :
       {Encoding::kIdentity, Encoding::kGzip, Encoding::kZstd}) {
    int i = static_cast<int>(coding);
    std::map<std::string, std::string> label{
        {"coding", std::string(EncodingName(coding))}};
    body_bytes_[i] = &sent.Add(label);
    body_identity_bytes_[i] = &identity.Add(label);
    compressions_[i] = &compressions.Add(label);  // identity: always 0
  }
}

void Metrics::CountBody(Encoding coding, size_t sent_bytes,
                        size_t identity_bytes, bool compressed) {
  int i = static_cast<int>(coding);
  body_bytes_[i]->Increment(static_cast<double>(sent_bytes));
  body_identity_bytes_[i]->Increment(static_cast<double>(identity_bytes));
  if (compressed) compressions_[i]->Increment();
}

// --- end of the coding block ---

}  // namespace qs::metrics
