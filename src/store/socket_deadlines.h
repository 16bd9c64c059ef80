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
// block libpq for ever. While a call runs (Within), its socket is armed
// here; a watchdog thread shuts the socket down once the deadline passes,
// which fails the blocked call at once (libpq reports the connection broken
// and the caller discards it).
class SocketDeadlines {
 public:
  SocketDeadlines();
  ~SocketDeadlines();
  SocketDeadlines(const SocketDeadlines&) = delete;
  SocketDeadlines& operator=(const SocketDeadlines&) = delete;

  // Runs `call` with `fd` armed until `deadline`, and returns what it
  // returns. The socket is disarmed before Within returns or lets an
  // exception through, so it is never shut down after the call: the caller
  // may then close the connection, and the fd number be reused, safely.
  template <typename Call>
  auto Within(int fd, std::chrono::steady_clock::time_point deadline,
              Call&& call) {
    Armed armed(*this, fd, deadline);
    return call();
  }

 private:
  // Arms on construction, disarms on destruction.
  class Armed {
   public:
    Armed(SocketDeadlines& owner, int fd,
          std::chrono::steady_clock::time_point deadline)
        : owner_(owner), id_(owner.Arm(fd, deadline)) {}
    ~Armed() { owner_.Disarm(id_); }
    Armed(const Armed&) = delete;
    Armed& operator=(const Armed&) = delete;

   private:
    SocketDeadlines& owner_;
    int id_;
  };

  int Arm(int fd, std::chrono::steady_clock::time_point deadline);
  void Disarm(int id);
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int next_id_ = 1;
  std::map<int, std::pair<int, std::chrono::steady_clock::time_point>> armed_;
  std::thread thread_;
};

}  // namespace qs::store
