#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "store/socket_deadlines.h"
#include "store/status_cache.h"

namespace qs::store {

// Keeps one connection LISTENing on querystatus_changes and feeds the
// status cache: each notification invalidates, and a heartbeat every
// `heartbeat` keeps the cache marked live. When the connection breaks the
// cache is switched off (direct reads) until a new connection is listening;
// reconnects back off from 100 ms to 2 s.
class PgListener {
 public:
  static constexpr char kChannel[] = "querystatus_changes";

  PgListener(
      std::string database_url, std::chrono::milliseconds timeout,
      CachingQueryStore& cache,
      std::chrono::milliseconds heartbeat = std::chrono::milliseconds(250));
  ~PgListener();  // stops the thread

  void Start();
  void Stop();

 private:
  void Run();
  bool SleepUnlessStopping(std::chrono::milliseconds d);

  std::string conninfo_;
  std::chrono::milliseconds timeout_;
  CachingQueryStore& cache_;
  std::chrono::milliseconds heartbeat_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  SocketDeadlines deadlines_;
  std::thread thread_;
};

}  // namespace qs::store
