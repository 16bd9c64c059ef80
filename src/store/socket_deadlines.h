#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace qs::store {

// Client-side deadlines for blocking libpq calls. statement_timeout is
// enforced by the server and tcp_user_timeout only when the peer stops
// acknowledging, so a server (or a network path) that is up but silent would
// block libpq for ever. While a call runs, its socket is armed here; a
// watchdog thread shuts the socket down once the deadline passes, which
// fails the blocked call at once (libpqxx throws broken_connection and the
// caller discards the connection).
//
// The caller must Disarm before the connection can be closed, so that the
// fd number is never shut down after it was reused.
class SocketDeadlines {
 public:
  SocketDeadlines();
  ~SocketDeadlines();
  SocketDeadlines(const SocketDeadlines&) = delete;
  SocketDeadlines& operator=(const SocketDeadlines&) = delete;

  int Arm(int fd, std::chrono::steady_clock::time_point deadline);
  void Disarm(int id);

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int next_id_ = 1;
  std::map<int, std::pair<int, std::chrono::steady_clock::time_point>> armed_;
  std::thread thread_;
};

}  // namespace qs::store
