#pragma once

#include <prometheus/gauge.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace qs::http {

// Draining state and the count of requests in flight, shared by the public
// listener (which counts) and the admin listener (which reports readiness).
// The count is the one the service keeps: `in_flight_gauge`, when given,
// exports it (querystatus_http_requests_in_flight), moved by the same
// InFlight marks, so the metric and the drain always agree.
class Lifecycle {
 public:
  explicit Lifecycle(prometheus::Gauge* in_flight_gauge = nullptr)
      : gauge_(in_flight_gauge) {}

  // Marks one request as in flight for the guard's lifetime.
  class InFlight {
   public:
    explicit InFlight(Lifecycle* owner) : owner_(owner) { owner_->Enter(); }
    ~InFlight() {
      if (owner_) owner_->Leave();
    }
    InFlight(InFlight&& other) noexcept : owner_(other.owner_) {
      other.owner_ = nullptr;
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
    InFlight& operator=(InFlight&&) = delete;

   private:
    Lifecycle* owner_;
  };

  // Phase 1 of shutdown: readiness fails, requests are still served (with
  // Connection: close) while the load balancer notices.
  void BeginDrain() { draining_.store(true); }
  bool draining() const { return draining_.load(); }
  // Phase 2: new requests are refused (503, Connection: close) while the
  // ones in flight finish.
  void StopAccepting() { closed_.store(true); }
  bool closed() const { return closed_.load(); }
  int in_flight() const { return in_flight_.load(); }

  // Waits until no request is in flight; false if `timeout` passed first.
  bool WaitIdle(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout,
                        [this] { return in_flight_.load() == 0; });
  }

 private:
  void Enter() {
    in_flight_.fetch_add(1);
    if (gauge_ != nullptr) gauge_->Increment();
  }
  // Under the lock: otherwise WaitIdle could see zero and return, and its
  // caller destroy this object, while the last Leave still notifies.
  void Leave() {
    if (gauge_ != nullptr) gauge_->Decrement();
    std::lock_guard<std::mutex> lock(mu_);
    if (in_flight_.fetch_sub(1) == 1) cv_.notify_all();
  }

  prometheus::Gauge* const gauge_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> closed_{false};
  std::atomic<int> in_flight_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace qs::http
