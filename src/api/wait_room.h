#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "metrics/metrics.h"
#include "store/change_feed.h"

namespace qs::api {

using WakeReason = metrics::WakeReason;

// What the wait room knows of one held request. The API layer derives its
// request state from it, so a held request is that state and nothing more:
// no thread, no timer object, no copy.
struct HeldRequest {
  virtual ~HeldRequest() = default;
  // The bound of --max-waiters-per-key counts requests by this.
  std::string key;
  // The change notifications that answer it: "q:<schedule_id>" and
  // "l:<license_id>" (see store::ChangeListener).
  std::string query_topic;
  std::string license_topic;
  // Requests woken together with the same group (the same license, query
  // and rows) are answered from one read.
  std::string group;
  // The end of the wait.
  std::chrono::steady_clock::time_point until;
  // True once the client has gone; null: never known. Must be cheap.
  std::function<bool()> gone;
};

// Receives the requests the room lets go, in batches: everything one
// notification woke, every wait that ran out at one tick. Called on the
// change feed's thread, the room's timer thread, or the thread that called
// Drain or FeedDown, never under the room's lock; must not block.
class WakeSink {
 public:
  virtual ~WakeSink() = default;
  // `noticed`: when the room learnt of what woke them (the notification's
  // arrival, for kChange).
  virtual void Wake(std::vector<std::shared_ptr<HeldRequest>> woken,
                    WakeReason why,
                    std::chrono::steady_clock::time_point noticed) = 0;
};

struct WaitRoomOptions {
  // --max-waiters and --max-waiters-per-key.
  int max_waiters = 10000;
  int max_waiters_per_key = 10;
  // How often the timer thread asks held requests whether their client has
  // gone (a gone client's slot is freed then, not at the end of its wait).
  std::chrono::milliseconds gone_sweep{1000};
};

// The requests held by `Prefer: wait`, parked on the change feed. A change
// of a query wakes every request held for it, a change of a license every
// request held for one of its queries; the end of a wait wakes the request
// on one timer thread shared by all; a feed that goes down, and the drain,
// wake them all. Past a bound, or while the feed is down or the instance
// drains, nothing is held. Thread-safe.
class WaitRoom final : public store::ChangeListener {
 public:
  enum class Admission { kHeld, kFull, kKeyFull, kFeedDown, kDraining };

  WaitRoom(WaitRoomOptions options, metrics::Metrics& metrics);
  ~WaitRoom() override;  // stops the timer thread
  WaitRoom(const WaitRoom&) = delete;
  WaitRoom& operator=(const WaitRoom&) = delete;

  // Set once, before Start.
  void SetSink(WakeSink* sink) { sink_ = sink; }
  void Start();
  // Stops the timer thread; what is still held stays so (Drain first).
  void Stop();

  // Holds `request` until a change, its `until`, or the drain. kHeld: the
  // sink will get it exactly once; otherwise the caller answers it now.
  Admission Hold(std::shared_ptr<HeldRequest> request);

  // store::ChangeListener.
  void Changed(std::string_view payload) override;
  void FeedUp() override;
  void FeedDown() override;

  // Wakes every held request (kDrain) and holds nothing from now on.
  void Drain();

  size_t held() const;

 private:
  using Clock = std::chrono::steady_clock;
  using Ticket = uint64_t;
  struct Entry {
    std::shared_ptr<HeldRequest> request;
    std::multimap<Clock::time_point, Ticket>::iterator deadline;
  };

  void Run();
  // Removes one entry from every index; returns its request. Holds mu_.
  std::shared_ptr<HeldRequest> TakeLocked(Ticket ticket);
  void UnindexLocked(const std::string& topic, Ticket ticket);
  // Takes everything held (FeedDown, Drain).
  std::vector<std::shared_ptr<HeldRequest>> TakeAllLocked();
  // Sets `*flag` (a member guarded by mu_) to `value` and wakes everything
  // held, as one step: nothing is held in between.
  void WakeAll(WakeReason why, bool* flag, bool value);
  void Deliver(std::vector<std::shared_ptr<HeldRequest>> woken, WakeReason why,
               Clock::time_point noticed);

  const WaitRoomOptions options_;
  metrics::Metrics& metrics_;
  WakeSink* sink_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool live_ = false;
  bool draining_ = false;
  Ticket next_ticket_ = 1;
  std::unordered_map<Ticket, Entry> held_;
  std::unordered_map<std::string, std::unordered_set<Ticket>> by_topic_;
  std::unordered_map<std::string, int> per_key_;
  std::multimap<Clock::time_point, Ticket> deadlines_;
  std::thread thread_;
};

}  // namespace qs::api
