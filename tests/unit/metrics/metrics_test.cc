#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace qs::metrics {
namespace {

// The exported label values are a contract with the dashboards and alert
// rules (deploy/prometheus/): each enumerator must keep its spelling.
TEST(MetricsTest, LabelValuesAreTheExportedSpellings) {
  EXPECT_STREQ(LabelValue(Decision::kAllowed), "allowed");
  EXPECT_STREQ(LabelValue(Decision::kLimited), "limited");
  EXPECT_STREQ(LabelValue(Decision::kFailOpen), "fail_open");
  EXPECT_STREQ(LabelValue(Decision::kFailClosed), "fail_closed");
  EXPECT_STREQ(LabelValue(RateScope::kKey), "key");
  EXPECT_STREQ(LabelValue(RateScope::kAddress), "address");
  EXPECT_STREQ(LabelValue(AuthFailureReason::kMissing), "missing");
  EXPECT_STREQ(LabelValue(AuthFailureReason::kUnknown), "unknown");
  EXPECT_STREQ(LabelValue(AuthFailureReason::kRevoked), "revoked");
  EXPECT_STREQ(LabelValue(AuthFailureReason::kExpired), "expired");
  EXPECT_STREQ(LabelValue(AuthFailureReason::kMismatch), "mismatch");
  EXPECT_STREQ(LabelValue(PostgresOperation::kReadStatus), "read_status");
  EXPECT_STREQ(LabelValue(PostgresOperation::kFindKey), "find_key");
  EXPECT_STREQ(LabelValue(PostgresOperation::kPing), "ping");
  EXPECT_STREQ(LabelValue(RedisOperation::kIncrWindow), "incr_window");
  EXPECT_STREQ(LabelValue(RedisOperation::kPing), "ping");
  EXPECT_STREQ(LabelValue(Pool::kPostgres), "postgres");
  EXPECT_STREQ(LabelValue(PoolState::kIdle), "idle");
  EXPECT_STREQ(LabelValue(PoolState::kInUse), "in_use");
  EXPECT_STREQ(LabelValue(CacheResult::kHit), "hit");
  EXPECT_STREQ(LabelValue(CacheResult::kMiss), "miss");
  EXPECT_STREQ(LabelValue(CacheResult::kBypass), "bypass");
  EXPECT_STREQ(LabelValue(Listener::kPublic), "public");
  EXPECT_STREQ(LabelValue(Listener::kAdmin), "admin");
  EXPECT_STREQ(LabelValue(QueueRejection::kFull), "full");
  EXPECT_STREQ(LabelValue(QueueRejection::kExpired), "expired");
  EXPECT_STREQ(LabelValue(QueueRejection::kStopped), "stopped");
  EXPECT_STREQ(LabelValue(WorkerDrop::kDeadline), "deadline");
  EXPECT_STREQ(LabelValue(WorkerDrop::kClientGone), "client_gone");
  EXPECT_STREQ(LabelValue(WorkerDrop::kStopped), "stopped");
}

TEST(MetricsTest, TheSeriesAlertsWatchExistFromTheStart) {
  Metrics metrics;
  std::string text = metrics.Serialize();
  for (const char* series : {
           "querystatus_ratelimit_decisions_total{decision=\"fail_closed\","
           "scope=\"address\"} 0",
           "querystatus_postgres_errors_total{operation=\"find_key\"} 0",
           "querystatus_redis_errors_total{operation=\"incr_window\"} 0",
           "querystatus_auth_failures_total{reason=\"mismatch\"} 0",
           "querystatus_http_connections{listener=\"admin\"} 0",
           "querystatus_redis_queue_rejections_total{reason=\"expired\"} 0",
           "querystatus_ratelimit_remembered_denials_total{scope=\"key\"} 0",
           "querystatus_worker_tasks_dropped_total{reason=\"client_gone\"} 0",
           "querystatus_key_cache_lookups_total{result=\"miss\"} 0",
           "querystatus_response_body_bytes_total{coding=\"zstd\"} 0",
           "querystatus_response_body_identity_bytes_total{coding=\"gzip\"} 0",
           "querystatus_response_compressions_total{coding=\"zstd\"} 0",
       }) {
    EXPECT_NE(text.find(series), std::string::npos) << series;
  }
}

}  // namespace
}  // namespace qs::metrics
