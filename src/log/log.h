// The service's log: JSON lines on stderr, written by a thread of their own
// so that no request path ever waits for the log's reader.
//
// Lines are queued in memory (4 MiB at most) and written in batches; when
// the queue is full a line is dropped and counted (DroppedLines). The queue
// is flushed at exit (an atexit hook, for at most two seconds), so the lines
// of a process that returns from main or calls exit() are written; those of
// a process killed by a signal or ended by _exit() may be lost. Output
// written to stderr directly (an operator command's error message) may
// overtake log lines queued before it unless Flush() is called first.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "log/redact.h"

namespace qs::log {

class AsyncWriter;

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses debug, info, warn, error.
bool ParseLevel(std::string_view name, Level* out);
void SetLevel(Level level);
bool Enabled(Level level);

using Field = std::pair<std::string_view, std::string_view>;

// Queues one JSON line: {"ts":..., "level":..., "event":..., ...}. Values
// are JSON-escaped. Callers must never pass a secret (a token, an api_key,
// an Authorization header, a password in a URL: pass RedactUrl's result, and
// RedactSecrets' for an error text that may quote a connection string).
// Any thread; never blocks on I/O.
void Event(Level level, std::string_view event,
           std::initializer_list<Field> fields = {});

// Queues an already-formatted JSON object as one line. Any thread; never
// blocks on I/O.
void Line(std::string_view json);

// Waits until every line queued before the call is written, for at most
// `timeout`; returns whether it got there. Cheap when nothing is queued.
bool Flush(std::chrono::milliseconds timeout = std::chrono::seconds(2));

// Lines lost since start: refused by a full queue or by a failed write.
// For the metrics module to export.
uint64_t DroppedLines();
// Bytes queued and not yet written. For the metrics module to export.
size_t QueuedBytes();

// For tests: while it lives, lines go to `writer` instead of stderr. No
// other thread may be logging when it is created or destroyed.
class ScopedWriterForTesting {
 public:
  explicit ScopedWriterForTesting(std::unique_ptr<AsyncWriter> writer);
  ~ScopedWriterForTesting();
  ScopedWriterForTesting(const ScopedWriterForTesting&) = delete;
  ScopedWriterForTesting& operator=(const ScopedWriterForTesting&) = delete;
  AsyncWriter& writer() { return *writer_; }

 private:
  std::unique_ptr<AsyncWriter> writer_;
  AsyncWriter* previous_;
};

// Appends the current UTC time as a quoted RFC 3339 string (milliseconds).
void AppendTimestamp(std::string& out);

}  // namespace qs::log
