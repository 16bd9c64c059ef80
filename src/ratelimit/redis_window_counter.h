#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
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

  // Parsed from `url` by ParseRedisUrl.
  std::string host;
  int port = 6379;
  std::string user;      // empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECTed when not 0
};

// The shared hourly counter, in Redis. Each increment is one EVALSHA of a
// Lua script that INCRs the window's key and sets its expiry on the first
// hit, so counting is atomic across every instance.
//
// Holds a small pool of blocking hiredis connections, made lazily; a
// connection that fails in any way is closed and remade on its next use.
// Every call is bounded: the wait for a free connection by command_timeout,
// the connect by connect_timeout, each command by command_timeout. Errors
// come back as kUnavailable, never as exceptions. Thread-safe.
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
  ~RedisWindowCounter() override;

  RedisWindowCounter(const RedisWindowCounter&) = delete;
  RedisWindowCounter& operator=(const RedisWindowCounter&) = delete;

  Result<int64_t> Increment(const std::string& bucket,
                            int64_t window_start_unix,
                            int64_t window_seconds) override;
  void IncrementAsync(const std::string& bucket, int64_t window_start_unix,
                      int64_t window_seconds, CountCallback done) override;

  // PING through the pool, for the readiness probe. nullopt when Redis
  // answered.
  Status Ping();

 private:
  struct Conn {
    redisContext* ctx = nullptr;  // null: not connected
    std::string script_sha;       // of the counting script, on this ctx
  };

  // Waits at most command_timeout for a free connection slot.
  Result<std::unique_ptr<Conn>> Acquire();
  void Release(std::unique_ptr<Conn> conn);
  // Connects `conn` if it is not connected (AUTH, SELECT, SCRIPT LOAD).
  Status EnsureConnected(Conn& conn);
  // Closes a connection that failed; the next use reconnects.
  static void Drop(Conn& conn);
  Status LoadScript(Conn& conn);
  Result<int64_t> IncrementOn(Conn& conn, const std::string& key,
                              const std::string& expire_at);

  // Pipelining: increments from every thread go into one queue; a single
  // I/O thread takes all that is queued, sends it as one pipeline on its own
  // connection, and answers each caller through its callback, in order. A
  // lone request pays one round trip; a burst of N shares one. Each count is
  // still its own atomic script call, so the limit stays exact across
  // instances.
  struct Pending {
    std::string key;
    std::string expire_at;
    CountCallback done;
    std::chrono::steady_clock::time_point queued;
    std::optional<Result<int64_t>> result;
  };
  static constexpr size_t kMaxBatchSize = 256;
  void RunIoThread();
  void RunBatch(std::vector<Pending>& batch);

  RedisOptions options_;
  std::string config_error_;  // non-empty: the URL did not parse

  std::mutex mu_;
  std::condition_variable free_cv_;
  std::vector<std::unique_ptr<Conn>> free_;  // guarded by mu_

  std::mutex batch_mu_;
  std::condition_variable batch_cv_;
  std::vector<Pending> queue_;     // guarded by batch_mu_
  bool io_waiting_ = false;        // guarded by batch_mu_
  bool stopping_ = false;          // guarded by batch_mu_
  std::unique_ptr<Conn> io_conn_;  // the I/O thread's own connection

  prometheus::Histogram& incr_duration_;
  prometheus::Counter& incr_errors_;
  prometheus::Histogram& ping_duration_;
  prometheus::Counter& ping_errors_;
  prometheus::Histogram& pool_wait_;
  prometheus::Counter& pool_wait_timeouts_;
  prometheus::Gauge& idle_;
  prometheus::Gauge& in_use_;

  std::thread io_thread_;  // last: starts once every other member exists
};

}  // namespace qs::ratelimit
