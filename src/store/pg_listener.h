#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "store/change_feed.h"
#include "store/pg_pool.h"
#include "store/socket_deadlines.h"
#include "store/status_cache.h"

namespace qs::store {

// Keeps one connection LISTENing on querystatus_changes and feeds the
// status cache: each notification invalidates, and a heartbeat every
// `heartbeat` keeps the cache marked live. When the connection breaks the
// cache is switched off (direct reads) until a new connection is listening;
// reconnects back off from 100 ms to 2 s. An optional ChangeListener hears
// every notification after the cache, and the feed going up and down. Speaks
// libpq directly, as the pool does (see PgConnection): a libpqxx statement on a
// connection that breaks during the call leaks its result.
class PgListener {
 public:
  static constexpr char kChannel[] = "querystatus_changes";

  PgListener(
      std::string database_url, std::chrono::milliseconds timeout,
      CachingQueryStore& cache, ChangeListener* also = nullptr,
      std::chrono::milliseconds heartbeat = std::chrono::milliseconds(250));
  ~PgListener();  // stops the thread

  void Start();
  void Stop();

 private:
  void Run();
  // One connection's life: connects, listens and feeds the cache until the
  // connection fails (returns why) or Stop (returns "").
  std::string Listen(bool* was_up, std::chrono::milliseconds* backoff);
  // Runs `sql` under the deadline; the error message if it failed.
  std::optional<std::string> Exec(PgConnection& conn, const std::string& sql);
  // Invalidates for each notification received; whether there was any.
  bool DrainNotifications(PgConnection& conn);
  bool SleepUnlessStopping(std::chrono::milliseconds d);

  std::string conninfo_;
  std::chrono::milliseconds timeout_;
  CachingQueryStore& cache_;
  ChangeListener* also_;
  std::chrono::milliseconds heartbeat_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  SocketDeadlines deadlines_;
  std::thread thread_;
};

}  // namespace qs::store
