#pragma once

#include <functional>

namespace qs {

// Somewhere to run work that may block (a PostgreSQL read), off the threads
// that must not block (the HTTP event loop, the Redis pipeline).
class Executor {
 public:
  virtual ~Executor() = default;
  // False when the work cannot be taken (queue full, shutting down): the
  // caller must answer for it.
  virtual bool TrySubmit(std::function<void()> task) = 0;
};

}  // namespace qs
