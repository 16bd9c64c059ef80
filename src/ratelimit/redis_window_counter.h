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
#include <vector>

#include "common/status.h"
#include "metrics/metrics.h"
#include "ratelimit/window_counter.h"

struct redisContext;  // hiredis; kept out of this header

namespace qs::ratelimit {

// Where and how to reach Redis. Build it with RedisWindowCounter::
// ParseRedisUrl, then adjust the timeouts and pool size if needed.
struct RedisOptions {
  std::string url;  // as configured; may hold a password: never log it raw
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds command_timeout{200};
  int pool_size = 8;
  // Counts that may wait for the I/O thread at once; past it a count is
  // refused at once (the failure mode decides). With command_timeout, this
  // bounds both the memory and the time a stalled Redis can hold requests.
  size_t max_queued = 4096;

  // Parsed from `url` by ParseRedisUrl.
  std::string host;
  int port = 6379;
  std::string user;      // empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECTed when not 0
};

// The shared hourly counter, in Redis. A count is one EVALSHA of a Lua
// script that adds to the window's key (INCRBY n) and sets its expiry on the
// first hit, so counting is atomic across every instance.
//
// Counts from every thread go into one bounded queue; a single I/O thread
// takes what is queued, groups the requests of one bucket and window into
// ONE script call with their number as the count, sends the calls as one
// pipeline on its own connection, and hands the totals out in arrival order:
// request i (0-based) of a group of n that brought the count to `total` sees
// total - n + i + 1. The limit stays exact across instances, and a burst of
// one key costs one command.
//
// Bounds, so that a slow or paused Redis cannot hold requests or memory:
// - at most max_queued counts wait; past that IncrementAsync answers
//   kUnavailable at once;
// - no count waits longer than command_timeout in all: a batch's I/O
//   (reconnect included) must end by the deadline of its oldest count, and a
//   count still queued past its deadline is answered kUnavailable by the next
//   IncrementAsync (whose thread is not stuck in a read) or by the I/O thread,
//   whichever comes first.
// The queue depth is the querystatus_redis_queue_depth gauge; refusals are
// querystatus_redis_queue_rejections_total{reason}.
//
// Readiness probes (Ping) use a small pool of blocking connections of their
// own, made lazily; a connection that fails in any way is closed and remade
// on its next use. Errors come back as kUnavailable, never as exceptions.
// Thread-safe.
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
  // Accepts redis://[[user]:password@]host[:port][/db]; user and password
  // may be percent-encoded, host may be a bracketed IPv6 address. Defaults:
  // port 6379, db 0. On failure, kInvalidArgument whose `internal` says what
  // is wrong (never echoing the password) and whose `detail` is a short
  // client-safe summary.
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

  // PING through the pool, for the readiness probe. nullopt when Redis
  // answered.
  Status Ping();

  // Stops accepting counts (later calls answer kUnavailable at once, on the
  // caller's thread), lets the batch in flight finish (bounded by the Redis
  // timeout), answers every queued count with kUnavailable on the I/O
  // thread, and joins it. Idempotent; must not be called from a callback.
  // Call it before destroying what the callbacks use.
  void Stop();

 private:
  struct Conn {
    redisContext* ctx = nullptr;  // null: not connected
    std::string script_sha;       // of the counting script, on this ctx
  };

  using SteadyTime = std::chrono::steady_clock::time_point;

  // Waits at most command_timeout for a free connection slot.
  Result<std::unique_ptr<Conn>> Acquire();
  void Release(std::unique_ptr<Conn> conn);
  // Connects `conn` if it is not connected (AUTH, SELECT, SCRIPT LOAD), all
  // of it before `deadline` (max: each step bounded by its own timeout).
  Status EnsureConnected(Conn& conn, SteadyTime deadline);
  // Sets the socket timeout of `conn` to what is left before `deadline`, at
  // most command_timeout. An error when nothing is left.
  Status ArmTimeout(Conn& conn, SteadyTime deadline);
  // Closes a connection that failed; the next use reconnects.
  static void Drop(Conn& conn);
  Status LoadScript(Conn& conn);
  // One script call adding `count`; the total after it.
  Result<int64_t> IncrementOn(Conn& conn, const std::string& key,
                              const std::string& expire_at, int64_t count);

  // Queues one count (1) or read (0) for the I/O thread.
  void Enqueue(const std::string& bucket, int64_t window_start_unix,
               int64_t window_seconds, int64_t count, CountCallback done);

  struct Pending {
    std::string key;
    std::string expire_at;
    int64_t count;  // 1, or 0 for a read
    CountCallback done;
    SteadyTime queued;
    std::optional<Result<int64_t>> result;
  };
  // The requests of one bucket and window in a batch, in arrival order.
  struct Group {
    const std::string* key;
    const std::string* expire_at;
    int64_t count;                // the members' counts, summed
    std::vector<size_t> members;  // indexes into the batch
  };
  static constexpr size_t kMaxBatchRequests = 1024;
  void RunIoThread();
  void RunBatch(std::vector<Pending>& batch, SteadyTime deadline);
  // Calls each callback (unless the destructor discards them) and records
  // the duration and errors.
  void Answer(std::vector<Pending>& answered);
  // Pops the queued counts that waited past their deadline into `expired`.
  // batch_mu_ must be held.
  void TakeExpiredLocked(SteadyTime now, std::vector<Pending>* expired);

  RedisOptions options_;
  std::string config_error_;  // non-empty: the URL did not parse

  std::mutex mu_;
  std::condition_variable free_cv_;
  std::vector<std::unique_ptr<Conn>> free_;  // guarded by mu_

  std::mutex batch_mu_;
  std::condition_variable batch_cv_;
  std::deque<Pending> queue_;         // guarded by batch_mu_
  bool io_waiting_ = false;           // guarded by batch_mu_
  bool stopping_ = false;             // guarded by batch_mu_
  std::atomic<bool> discard_{false};  // the destructor: call no callback
  std::unique_ptr<Conn> io_conn_;     // the I/O thread's own connection
  std::mutex join_mu_;                // serialises Stop()'s join

  prometheus::Histogram& incr_duration_;
  prometheus::Counter& incr_errors_;
  prometheus::Histogram& ping_duration_;
  prometheus::Counter& ping_errors_;
  prometheus::Histogram& pool_wait_;
  prometheus::Counter& pool_wait_timeouts_;
  prometheus::Gauge& idle_;
  prometheus::Gauge& in_use_;
  prometheus::Gauge& queue_depth_;
  prometheus::Counter& rejected_full_;
  prometheus::Counter& rejected_expired_;
  prometheus::Counter& rejected_stopped_;
  prometheus::Counter& count_calls_;
  prometheus::Counter& counted_requests_;

  std::thread io_thread_;  // last: starts once every other member exists
};

}  // namespace qs::ratelimit
