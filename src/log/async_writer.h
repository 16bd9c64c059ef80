#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace qs::log {

// Lines handed over by any thread and written to a file descriptor by one
// thread of the writer's own, in batches: everything queued while the last
// batch was being written goes out in one write(2) (more only when the
// kernel takes part of it). Lines come out whole and in the order Append
// was called; lines of one thread are therefore in that thread's order.
//
// Append never waits for I/O: it copies the line into a buffer bounded by
// `max_queued_bytes` (queued plus being written), under a mutex that is
// only ever held for a copy or a swap, or it drops the line and counts it
// when the buffer is full. A stuck sink (a pipe nobody reads) costs lines,
// never latency.
class AsyncWriter {
 public:
  struct Options {
    int fd = 2;
    // Bytes queued plus being written; a line that does not fit is dropped.
    size_t max_queued_bytes = 4u << 20;
    // Write to a duplicate of `fd` taken at construction, so that the caller
    // may close its own at any time. Without, `fd` itself is written to
    // (stderr follows a later dup2 onto it) and must outlive the writer.
    bool duplicate_fd = true;
  };

  explicit AsyncWriter(Options options);
  // Flushes for at most `kDestroyFlushTimeout`, then stops the thread. A
  // thread still stuck in write(2) then is left to finish on its own; it
  // holds nothing of this object.
  ~AsyncWriter();
  AsyncWriter(const AsyncWriter&) = delete;
  AsyncWriter& operator=(const AsyncWriter&) = delete;

  static constexpr std::chrono::milliseconds kDestroyFlushTimeout{2000};

  // Queues `line` and a newline. Returns false, and counts one dropped
  // line, when they do not fit. Any thread; never blocks on I/O.
  bool Append(std::string_view line);

  // Waits until every line appended before the call is written (or lost to
  // a failed write), for at most `timeout`. Returns whether it got there.
  // Any thread but the writer's.
  bool Flush(std::chrono::milliseconds timeout);

  // Lines refused because the buffer was full, plus lines a failed write
  // lost (a closed descriptor).
  uint64_t dropped_lines() const;
  // Bytes accepted and not written yet.
  size_t queued_bytes() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace qs::log
