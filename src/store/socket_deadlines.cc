#include "store/socket_deadlines.h"

#include <sys/socket.h>

#include "log/log.h"

namespace qs::store {

SocketDeadlines::SocketDeadlines() : thread_([this] { Run(); }) {}

SocketDeadlines::~SocketDeadlines() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

int SocketDeadlines::Arm(int fd,
                         std::chrono::steady_clock::time_point deadline) {
  std::lock_guard<std::mutex> lock(mu_);
  int id = next_id_++;
  armed_[id] = {fd, deadline};
  return id;
}

void SocketDeadlines::Disarm(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  armed_.erase(id);
}

void SocketDeadlines::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(50));
    auto now = std::chrono::steady_clock::now();
    for (auto it = armed_.begin(); it != armed_.end();) {
      if (it->second.second <= now) {
        // Still the connection's fd: Disarm, under this lock, comes first.
        if (it->second.first >= 0) ::shutdown(it->second.first, SHUT_RDWR);
        log::Event(log::Level::kWarn, "postgres_deadline_exceeded");
        it = armed_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace qs::store
