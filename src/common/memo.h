// A value derived from an immutable object, computed once on first use.
#pragma once

#include <mutex>
#include <string>
#include <utility>

namespace qs {

// The string `compute` gives, computed by whichever thread asks first; every
// later Get returns it without computing again (an acquire load). A copy
// starts empty: the value belongs to the object it was derived from, and a
// copy may be changed before it is asked. Thread-safe.
class StringMemo {
 public:
  StringMemo() = default;
  StringMemo(const StringMemo&) {}
  StringMemo& operator=(const StringMemo&) { return *this; }

  template <typename Compute>
  const std::string& Get(Compute&& compute) const {
    std::call_once(once_, [&] { value_ = std::forward<Compute>(compute)(); });
    return value_;
  }

 private:
  mutable std::once_flag once_;
  mutable std::string value_;
};

}  // namespace qs
