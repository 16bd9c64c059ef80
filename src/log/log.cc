#include "log/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "common/json_string.h"
#include "log/async_writer.h"

namespace qs::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<AsyncWriter*> g_test_writer{nullptr};
std::atomic<AsyncWriter*> g_stderr_writer{nullptr};

void FlushAtExit() {
  if (AsyncWriter* w = g_stderr_writer.load()) {
    w->Flush(std::chrono::seconds(2));
  }
}

// Created at the first line and never destroyed: threads may log until the
// process ends, static destructors included.
AsyncWriter& StderrWriter() {
  static AsyncWriter* writer = [] {
    AsyncWriter::Options options;
    options.fd = 2;
    options.duplicate_fd = false;  // stderr as it is when a line is written
    auto* w = new AsyncWriter(options);
    g_stderr_writer.store(w);
    std::atexit(FlushAtExit);
    return w;
  }();
  return *writer;
}

AsyncWriter& Writer() {
  AsyncWriter* w = g_test_writer.load(std::memory_order_acquire);
  return w != nullptr ? *w : StderrWriter();
}

// The writer lines go to, if one was made: asking about the log does not
// start its thread.
AsyncWriter* ExistingWriter() {
  AsyncWriter* w = g_test_writer.load(std::memory_order_acquire);
  return w != nullptr ? w : g_stderr_writer.load(std::memory_order_acquire);
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void AppendTimestamp(std::string& out) {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                now.time_since_epoch())
                .count() %
            1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out += '"';
  out += buf;
  out += '"';
}

bool ParseLevel(std::string_view name, Level* out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (name == LevelName(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

void SetLevel(Level level) { g_level.store(static_cast<int>(level)); }

bool Enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void Event(Level level, std::string_view event,
           std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line;
  line.reserve(128);
  line += "{\"ts\":";
  AppendTimestamp(line);
  line += ",\"level\":\"";
  line += LevelName(level);
  line += "\",\"event\":";
  AppendJsonString(line, event);
  for (const auto& [k, v] : fields) {
    line += ',';
    AppendJsonString(line, k);
    line += ':';
    AppendJsonString(line, v);
  }
  line += '}';
  Line(line);
}

void Line(std::string_view json) { Writer().Append(json); }

bool Flush(std::chrono::milliseconds timeout) {
  AsyncWriter* w = ExistingWriter();
  return w == nullptr || w->Flush(timeout);
}

uint64_t DroppedLines() {
  AsyncWriter* w = ExistingWriter();
  return w == nullptr ? 0 : w->dropped_lines();
}

size_t QueuedBytes() {
  AsyncWriter* w = ExistingWriter();
  return w == nullptr ? 0 : w->queued_bytes();
}

ScopedWriterForTesting::ScopedWriterForTesting(
    std::unique_ptr<AsyncWriter> writer)
    : writer_(std::move(writer)),
      previous_(g_test_writer.exchange(writer_.get())) {}

ScopedWriterForTesting::~ScopedWriterForTesting() {
  g_test_writer.store(previous_);
}

}  // namespace qs::log
