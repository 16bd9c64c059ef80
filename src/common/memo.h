// A value derived from an immutable object, computed once on first use.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <utility>

namespace qs {

// The value `compute` gives, computed by whichever thread asks first; every
// later Get returns it without computing again (an acquire load). A copy
// starts empty: the value belongs to the object it was derived from, and a
// copy may be changed before it is asked. Thread-safe.
template <typename T>
class Memo {
 public:
  Memo() = default;
  Memo(const Memo&) {}
  Memo& operator=(const Memo&) { return *this; }

  template <typename Compute>
  const T& Get(Compute&& compute) const {
    std::call_once(once_, [&] {
      value_ = std::forward<Compute>(compute)();
      ready_.store(true, std::memory_order_release);
    });
    return value_;
  }

  // The value if it has been computed, else null; never computes.
  const T* IfReady() const {
    return ready_.load(std::memory_order_acquire) ? &value_ : nullptr;
  }

 private:
  mutable std::once_flag once_;
  mutable T value_{};
  mutable std::atomic<bool> ready_{false};
};

using StringMemo = Memo<std::string>;

}  // namespace qs
