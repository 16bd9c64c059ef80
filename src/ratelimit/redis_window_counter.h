#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "metrics/metrics.h"
#include "ratelimit/redis_cluster.h"
#include "ratelimit/redis_connection.h"
#include "ratelimit/window_counter.h"

namespace qs::ratelimit {

// Where and how to reach Redis. Build it with RedisWindowCounter::FromUrl
// (or ParseRedisUrl), then adjust the timeouts if needed.
struct RedisOptions {
  std::string url;  // as configured; may hold a password: never log it raw
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds command_timeout{200};
  // Counts that may wait for the I/O thread at once; past it a count is
  // refused at once (the failure mode decides). With command_timeout, this
  // bounds both the memory and the time a stalled Redis can hold requests.
  size_t max_queued = 4096;

  // Parsed from `url` by ParseRedisUrl.
  bool cluster = false;  // redis-cluster://: a Redis Cluster, seeds below
  std::vector<NodeAddress> seeds;  // cluster only, in the URL's order
  std::string host;                // the node (in a cluster, the first seed)
  int port = 6379;
  std::string user;      // empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECTed when not 0; always 0 in a cluster
};

// The shared hourly counter, in Redis or a Redis Cluster. A count is one
// EVALSHA of a Lua script that adds to the window's key (INCRBY n) and sets
// its expiry on the first hit, so counting is atomic across every instance.
//
// Counts from every thread go into one bounded queue; a single I/O thread
// takes what is queued, groups the requests of one bucket and window into
// ONE script call with their number as the count, sends the calls as one
// pipeline per node on its own connection, and hands the totals out in
// arrival order: request i (0-based) of a group of n that brought the count
// to `total` sees total - n + i + 1. The limit stays exact across
// instances, and a burst of one key costs one command.
//
// Cluster mode (a redis-cluster:// URL): the I/O thread reads the slot map
// (CLUSTER SLOTS) from any seed or known master, keeps one connection per
// master, and sends each script call to the master of its key's slot (the
// script touches one key, so one slot). A MOVED reply points the slot at the
// new master, re-reads the map and resends the call there; an ASK reply
// resends it once to the node named, after ASKING; at most kMaxRounds sends
// per call. A lost connection, READONLY (a demoted master), TRYAGAIN or
// CLUSTERDOWN fail the calls concerned (the failure mode decides) and make
// the next batch re-read the map, so counting is exact again as soon as the
// cluster has promoted a replica. Reconnects to a node that refused, and
// re-reads of a map that could not be read, wait an exponential backoff
// with jitter (RedisConnection::kMinBackoff doubling to kMaxBackoff); calls for
// a node in backoff fail at once instead of waiting on it.
//
// Bounds, so that a slow or paused Redis cannot hold requests or memory:
// - at most max_queued counts wait; past that IncrementAsync answers
//   kUnavailable at once;
// - no count waits longer than command_timeout in all: a batch's I/O
//   (reconnects, map reads and redirects included) must end by the deadline
//   of its oldest count, and a count still queued past its deadline is
//   answered kUnavailable by the next IncrementAsync (whose thread is not
//   stuck in a read) or by the I/O thread, whichever comes first.
// The queue depth is the querystatus_redis_queue_depth gauge; refusals are
// querystatus_redis_queue_rejections_total{reason}.
//
// Readiness probes (Ping) go through the same queue: the I/O thread answers
// one with a PING on the connections that serve counts (in a cluster, on
// every master of the map), so readiness says whether counting works, not
// whether some other connection could be made. Connections are made lazily
// (RedisConnection: the handshake, the backoff) and closed on any failure,
// to be remade on their next use. Errors come back as kUnavailable, never
// as exceptions. Thread-safe.
//
// Who calls back: IncrementAsync's callback runs exactly once, on the I/O
// thread; or, when the count is refused at once (queue full, stopped) or
// found expired by a later IncrementAsync, on the thread that called
// IncrementAsync (possibly before it returns). It must not block: every other
// count waits behind it. It may call IncrementAsync again.
//
// The process must ignore SIGPIPE (a write to a connection Redis closed
// would otherwise kill it); main does that.
class RedisWindowCounter final : public WindowCounter {
 public:
  // The options of a Redis URL as the settings parsed it
  // (config::ParseRedisUrl), with the default timeouts and queue bound.
  static RedisOptions FromUrl(const config::RedisUrl& url);
  // config::ParseRedisUrl, then FromUrl: errors as that function's.
  static Result<RedisOptions> ParseRedisUrl(std::string_view url);

  // If options.host is empty, options.url is parsed here; a URL that does not
  // parse makes every call fail with kUnavailable (validate at start-up with
  // ParseRedisUrl instead).
  RedisWindowCounter(RedisOptions options, metrics::Metrics& metrics);
  // Stops the I/O thread. Counts still unanswered are discarded WITHOUT
  // calling their callbacks (whatever they would call into may already be
  // gone): call Stop() first to have them answered.
  ~RedisWindowCounter() override;

  RedisWindowCounter(const RedisWindowCounter&) = delete;
  RedisWindowCounter& operator=(const RedisWindowCounter&) = delete;

  void IncrementAsync(const std::string& bucket, int64_t window_start_unix,
                      int64_t window_seconds, CountCallback done) override;
  // The same queue and pipeline: a read is a script call adding 0 (grouped
  // with the bucket's counts when they are sent together).
  void ReadAsync(const std::string& bucket, int64_t window_start_unix,
                 int64_t window_seconds, CountCallback done) override;

  // For the readiness probe: OK when the I/O thread got an answer to PING
  // on the connection that serves counts (in a cluster, from every master
  // serving a slot). Blocks the caller at most command_timeout plus
  // kProbeMargin; must not be called from a callback.
  Status Ping();

  // The key a bucket's window is counted under. In a cluster the bucket is
  // a hash tag ("qs:rl:{a:10.0.0.1}:1700000000"), so every window of a
  // bucket lives in one slot; on one node the name carries no tag, as it
  // always has, so that an upgrade does not restart the hour's counts.
  static std::string WindowKey(bool cluster, const std::string& bucket,
                               int64_t window_start_unix);

  // Stops accepting counts (later calls answer kUnavailable at once, on the
  // caller's thread), lets the batch in flight finish (bounded by the Redis
  // timeout), answers every queued count with kUnavailable on the I/O
  // thread, and joins it. Idempotent; must not be called from a callback.
  // Call it before destroying what the callbacks use.
  void Stop();

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // Sends of one script call in a batch: the first, a MOVED or ASK
  // redirect, and a resend after NOSCRIPT.
  static constexpr int kMaxRounds = 3;
  // How much longer than the Redis timeout Ping waits for its answer.
  static constexpr std::chrono::milliseconds kProbeMargin{100};

  // Queues one count (1) or read (0) for the I/O thread.
  void Enqueue(const std::string& bucket, int64_t window_start_unix,
               int64_t window_seconds, int64_t count, CountCallback done);

  struct Pending {
    std::string key;
    std::string expire_at;
    int64_t count = 0;   // 1, or 0 for a read
    bool probe = false;  // a readiness probe: no key, answered 0 or an error
    CountCallback done;
    SteadyTime queued;
    std::optional<Result<int64_t>> result;
  };
  // Queues `p` (stamping its time), or answers it at once when refused.
  void Enqueue(Pending p);
  // The requests of one bucket and window in a batch, in arrival order.
  struct Group {
    const std::string* key = nullptr;
    const std::string* expire_at = nullptr;
    int64_t count = 0;            // the members' counts, summed
    std::vector<size_t> members;  // indexes into the batch
    int slot = -1;                // cluster mode: the key's slot
    // Set by a redirect: where the next send goes (else the slot's master),
    // and whether ASKING precedes it.
    std::optional<NodeAddress> target;
    bool asking = false;
  };
  static constexpr size_t kMaxBatchRequests = 1024;
  void RunIoThread();
  void RunBatch(std::vector<Pending>& batch, SteadyTime deadline);
  // Sends the script calls of `ids` (indexes into `groups`) as one pipeline
  // on `conn`, answers the groups that got a total or a final error, and
  // appends those to send again (redirected, NOSCRIPT) to `again`:
  // QueuePipeline, then ReadPipeline.
  void SendPipeline(RedisConnection& conn, std::vector<Group>& groups,
                    const std::vector<size_t>& ids, std::vector<Pending>& batch,
                    std::vector<size_t>* again);
  // Writes the calls of `ids` to `conn`; false (every one of them answered
  // with the error) when that fails.
  bool QueuePipeline(RedisConnection& conn, std::vector<Group>& groups,
                     const std::vector<size_t>& ids,
                     std::vector<Pending>& batch);
  // Reads the replies of calls QueuePipeline wrote, in order.
  void ReadPipeline(RedisConnection& conn, std::vector<Group>& groups,
                    const std::vector<size_t>& ids, std::vector<Pending>& batch,
                    std::vector<size_t>* again);
  // I/O thread, cluster mode: the connection to `node`, made on first use.
  RedisConnection& NodeConn(const NodeAddress& node);
  // I/O thread: PING on the serving connections (see Ping).
  Status ProbeServing(SteadyTime deadline);
  // I/O thread, cluster mode: reads the slot map from a known master or a
  // seed (the first that answers) when it is stale and no backoff holds;
  // the old map stays in use when none answers.
  void RefreshSlotMap(SteadyTime deadline);
  // Calls each callback (unless the destructor discards them) and records
  // the duration and errors.
  void Answer(std::vector<Pending>& answered);
  // Pops the queued counts that waited past their deadline into `expired`.
  // batch_mu_ must be held.
  void TakeExpiredLocked(SteadyTime now, std::vector<Pending>* expired);

  RedisOptions options_;
  std::string config_error_;          // non-empty: the URL did not parse
  RedisConnectionSettings settings_;  // what every connection shares

  std::mutex batch_mu_;
  std::condition_variable batch_cv_;
  std::deque<Pending> queue_;         // guarded by batch_mu_
  bool io_waiting_ = false;           // guarded by batch_mu_
  bool stopping_ = false;             // guarded by batch_mu_
  std::atomic<bool> discard_{false};  // the destructor: call no callback
  std::mutex join_mu_;                // serialises Stop()'s join

  // The I/O thread's own: its connections by node ("host:port"; one node
  // when not in a cluster), the slot map, and when to read it again.
  std::unordered_map<std::string, std::unique_ptr<RedisConnection>> nodes_;
  SlotMap slot_map_;
  bool slot_map_stale_ = true;
  int slot_map_failures_ = 0;
  SteadyTime slot_map_retry_after_{};

  prometheus::Histogram& incr_duration_;
  prometheus::Counter& incr_errors_;
  prometheus::Histogram& ping_duration_;
  prometheus::Counter& ping_errors_;
  prometheus::Gauge& queue_depth_;
  prometheus::Counter& rejected_full_;
  prometheus::Counter& rejected_expired_;
  prometheus::Counter& rejected_stopped_;
  prometheus::Counter& count_calls_;
  prometheus::Counter& counted_requests_;

  std::thread io_thread_;  // last: starts once every other member exists
};

}  // namespace qs::ratelimit
