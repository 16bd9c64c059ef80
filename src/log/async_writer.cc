#include "log/async_writer.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace qs::log {

// Shared by the object and its thread, so that a thread stuck in write(2)
// when the object goes away still has what it touches.
struct AsyncWriter::State {
  int fd = -1;
  bool owns_fd = false;
  size_t max_bytes = 0;

  std::mutex mu;
  std::condition_variable wake;     // the writer: work or stop
  std::condition_variable drained;  // Flush: written_total moved
  std::string pending;              // guarded by mu
  size_t in_flight = 0;             // guarded by mu: the batch being written
  uint64_t appended_total = 0;      // guarded by mu: bytes accepted, ever
  uint64_t written_total = 0;       // guarded by mu: bytes written or lost
  bool stop = false;                // guarded by mu

  std::atomic<uint64_t> dropped{0};
  std::atomic<size_t> queued{0};  // pending + in_flight, for lock-free reads

  ~State() {
    if (owns_fd && fd >= 0) close(fd);
  }

  // Writes all of `data`; returns how many bytes were written before a
  // failure other than EINTR or EAGAIN.
  size_t WriteAll(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = write(fd, data.data() + done, data.size() - done);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        // A descriptor inherited in non-blocking mode: wait until it drains.
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, 1000);
      } else {
        break;
      }
    }
    return done;
  }

  void Run() {
    // Signals are for the threads that wait for them (serve's sigwait); a
    // write to a closed pipe must fail with EPIPE, not kill the process.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);

    std::string batch;
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      wake.wait(lock, [&] { return stop || !pending.empty(); });
      if (pending.empty()) break;  // stopping, and nothing left
      batch.swap(pending);
      in_flight = batch.size();
      lock.unlock();

      size_t written = WriteAll(batch);
      if (written < batch.size()) {
        dropped.fetch_add(static_cast<uint64_t>(std::count(
                              batch.begin() + written, batch.end(), '\n')),
                          std::memory_order_relaxed);
      }

      lock.lock();
      written_total += batch.size();
      in_flight = 0;
      queued.store(pending.size(), std::memory_order_relaxed);
      batch.clear();
      // Keep memory bounded by what a busy period needs, not its peak.
      if (batch.capacity() > max_bytes) std::string().swap(batch);
      drained.notify_all();
    }
  }
};

AsyncWriter::AsyncWriter(Options options) : state_(std::make_shared<State>()) {
  state_->owns_fd = options.duplicate_fd;
  state_->fd = options.duplicate_fd ? dup(options.fd) : options.fd;
  state_->max_bytes = options.max_queued_bytes;
  std::thread([s = state_] { s->Run(); }).detach();
}

AsyncWriter::~AsyncWriter() {
  Flush(kDestroyFlushTimeout);
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
  }
  state_->wake.notify_one();
}

bool AsyncWriter::Append(std::string_view line) {
  State& s = *state_;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    size_t queued = s.pending.size() + s.in_flight;
    if (s.stop ||
        line.size() + 1 > s.max_bytes - std::min(queued, s.max_bytes)) {
      s.dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    wake = s.pending.empty();
    s.pending.append(line.data(), line.size());
    s.pending += '\n';
    s.appended_total += line.size() + 1;
    s.queued.store(s.pending.size() + s.in_flight, std::memory_order_relaxed);
  }
  // A writer busy with a batch takes this line with the next one; only an
  // idle writer needs waking.
  if (wake) s.wake.notify_one();
  return true;
}

bool AsyncWriter::Flush(std::chrono::milliseconds timeout) {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  uint64_t target = s.appended_total;
  return s.drained.wait_for(lock, timeout,
                            [&] { return s.written_total >= target; });
}

uint64_t AsyncWriter::dropped_lines() const {
  return state_->dropped.load(std::memory_order_relaxed);
}

size_t AsyncWriter::queued_bytes() const {
  return state_->queued.load(std::memory_order_relaxed);
}

}  // namespace qs::log
