// A value derived from an immutable object, computed once on first use.
#pragma once

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
    std::call_once(once_, [&] { value_ = std::forward<Compute>(compute)(); });
    return value_;
  }

 private:
  mutable std::once_flag once_;
  mutable T value_{};
};

using StringMemo = Memo<std::string>;

}  // namespace qs
