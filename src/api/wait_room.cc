#include "api/wait_room.h"

#include <algorithm>
#include <utility>

namespace qs::api {

WaitRoom::WaitRoom(WaitRoomOptions options, metrics::Metrics& metrics)
    : options_(options), metrics_(metrics) {}

WaitRoom::~WaitRoom() { Stop(); }

void WaitRoom::Start() {
  thread_ = std::thread([this] { Run(); });
}

void WaitRoom::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

WaitRoom::Admission WaitRoom::Hold(std::shared_ptr<HeldRequest> request) {
  std::unique_lock<std::mutex> lock(mu_);
  if (draining_ || stopping_) return Admission::kDraining;
  if (!live_) return Admission::kFeedDown;
  if (held_.size() >= static_cast<size_t>(std::max(0, options_.max_waiters))) {
    return Admission::kFull;
  }
  int& of_key = per_key_[request->key];
  if (of_key >= options_.max_waiters_per_key) {
    if (of_key == 0) per_key_.erase(request->key);
    return Admission::kKeyFull;
  }
  ++of_key;
  Ticket ticket = next_ticket_++;
  by_topic_[request->query_topic].insert(ticket);
  by_topic_[request->license_topic].insert(ticket);
  auto deadline = deadlines_.emplace(request->until, ticket);
  bool earliest = deadline == deadlines_.begin();
  held_.emplace(ticket, Entry{std::move(request), deadline});
  metrics_.held_requests().Increment();
  lock.unlock();
  // The timer thread sleeps until the earliest end of a wait: a new
  // earliest one must wake it to sleep less.
  if (earliest) cv_.notify_all();
  return Admission::kHeld;
}

void WaitRoom::UnindexLocked(const std::string& topic, Ticket ticket) {
  auto it = by_topic_.find(topic);
  if (it == by_topic_.end()) return;
  it->second.erase(ticket);
  if (it->second.empty()) by_topic_.erase(it);
}

std::shared_ptr<HeldRequest> WaitRoom::TakeLocked(Ticket ticket) {
  auto it = held_.find(ticket);
  if (it == held_.end()) return nullptr;
  std::shared_ptr<HeldRequest> request = std::move(it->second.request);
  deadlines_.erase(it->second.deadline);
  held_.erase(it);
  UnindexLocked(request->query_topic, ticket);
  UnindexLocked(request->license_topic, ticket);
  auto of_key = per_key_.find(request->key);
  if (of_key != per_key_.end() && --of_key->second <= 0) {
    per_key_.erase(of_key);
  }
  metrics_.held_requests().Decrement();
  return request;
}

std::vector<std::shared_ptr<HeldRequest>> WaitRoom::TakeAllLocked() {
  std::vector<std::shared_ptr<HeldRequest>> all;
  all.reserve(held_.size());
  for (auto& [ticket, entry] : held_) all.push_back(std::move(entry.request));
  metrics_.held_requests().Decrement(static_cast<double>(held_.size()));
  held_.clear();
  by_topic_.clear();
  per_key_.clear();
  deadlines_.clear();
  return all;
}

void WaitRoom::Deliver(std::vector<std::shared_ptr<HeldRequest>> woken,
                       WakeReason why, Clock::time_point noticed) {
  if (woken.empty()) return;
  metrics_.Wakeups(why).Increment(static_cast<double>(woken.size()));
  if (sink_ != nullptr) sink_->Wake(std::move(woken), why, noticed);
}

void WaitRoom::Changed(std::string_view payload) {
  Clock::time_point noticed = Clock::now();
  std::vector<std::shared_ptr<HeldRequest>> woken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_topic_.find(std::string(payload));
    if (it == by_topic_.end()) return;
    std::vector<Ticket> tickets(it->second.begin(), it->second.end());
    woken.reserve(tickets.size());
    for (Ticket t : tickets) woken.push_back(TakeLocked(t));
  }
  Deliver(std::move(woken), WakeReason::kChange, noticed);
}

void WaitRoom::FeedUp() {
  std::lock_guard<std::mutex> lock(mu_);
  live_ = true;
}

void WaitRoom::FeedDown() { WakeAll(WakeReason::kFeedDown, &live_, false); }

void WaitRoom::Drain() { WakeAll(WakeReason::kDrain, &draining_, true); }

void WaitRoom::WakeAll(WakeReason why, bool* flag, bool value) {
  std::vector<std::shared_ptr<HeldRequest>> woken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    *flag = value;
    woken = TakeAllLocked();
  }
  Deliver(std::move(woken), why, Clock::now());
}

size_t WaitRoom::held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_.size();
}

void WaitRoom::Run() {
  Clock::time_point next_sweep = Clock::now() + options_.gone_sweep;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    Clock::time_point wake_at = next_sweep;
    if (!deadlines_.empty())
      wake_at = std::min(wake_at, deadlines_.begin()->first);
    cv_.wait_until(lock, wake_at);
    if (stopping_) break;
    Clock::time_point now = Clock::now();
    std::vector<std::shared_ptr<HeldRequest>> expired;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      expired.push_back(TakeLocked(deadlines_.begin()->second));
    }
    std::vector<std::shared_ptr<HeldRequest>> gone;
    if (now >= next_sweep) {
      next_sweep = now + options_.gone_sweep;
      std::vector<Ticket> tickets;
      for (const auto& [ticket, entry] : held_) {
        if (entry.request->gone && entry.request->gone()) {
          tickets.push_back(ticket);
        }
      }
      for (Ticket t : tickets) gone.push_back(TakeLocked(t));
    }
    lock.unlock();
    Deliver(std::move(expired), WakeReason::kTimeout, now);
    Deliver(std::move(gone), WakeReason::kClientGone, now);
    lock.lock();
  }
}

}  // namespace qs::api
