#include "log/async_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "log/log.h"

namespace qs::log {
namespace {

using std::chrono::milliseconds;

// A pipe whose read end a thread drains into a string once started.
class Pipe {
 public:
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    read_ = fds[0];
    write_ = fds[1];
  }
  ~Pipe() {
    CloseWriteEnd();
    if (reader_.joinable()) reader_.join();
    close(read_);
  }

  int write_fd() const { return write_; }

  // What is in the pipe now, without waiting.
  std::string ReadAvailable() {
    fcntl(read_, F_SETFL, fcntl(read_, F_GETFL) | O_NONBLOCK);
    std::string got;
    char buf[65536];
    for (ssize_t n; (n = read(read_, buf, sizeof buf)) > 0;) {
      got.append(buf, static_cast<size_t>(n));
    }
    fcntl(read_, F_SETFL, fcntl(read_, F_GETFL) & ~O_NONBLOCK);
    return got;
  }

  // Makes the pipe hold at most one page, so that a writer blocks soon.
  void Shrink() { fcntl(write_, F_SETPIPE_SZ, 4096); }

  void StartReading() {
    reader_ = std::thread([this] {
      char buf[65536];
      for (ssize_t n; (n = read(read_, buf, sizeof buf)) > 0;) {
        data_.append(buf, static_cast<size_t>(n));
      }
    });
  }

  // Everything written, once every write end (the writer's copy included)
  // is closed.
  std::string ReadAll() {
    CloseWriteEnd();
    if (!reader_.joinable()) StartReading();
    reader_.join();
    return data_;
  }

 private:
  void CloseWriteEnd() {
    if (write_ >= 0) close(write_);
    write_ = -1;
  }

  int read_ = -1;
  int write_ = -1;
  std::thread reader_;
  std::string data_;
};

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(AsyncWriterTest, LinesOfOneThreadComeOutInOrder) {
  Pipe pipe;
  pipe.StartReading();
  {
    AsyncWriter writer({pipe.write_fd(), 1 << 20});
    for (int i = 0; i < 20000; ++i) {
      ASSERT_TRUE(writer.Append("line " + std::to_string(i)));
    }
    EXPECT_TRUE(writer.Flush(milliseconds(10000)));
    EXPECT_EQ(writer.dropped_lines(), 0u);
    EXPECT_EQ(writer.queued_bytes(), 0u);
  }
  std::vector<std::string> lines = Lines(pipe.ReadAll());
  ASSERT_EQ(lines.size(), 20000u);
  for (int i = 0; i < 20000; ++i)
    EXPECT_EQ(lines[i], "line " + std::to_string(i));
}

TEST(AsyncWriterTest, LinesOfManyThreadsNeverInterleave) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 3000;
  Pipe pipe;
  pipe.StartReading();
  {
    AsyncWriter writer({pipe.write_fd(), 64 << 20});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&writer, t] {
        for (int i = 0; i < kPerThread; ++i) {
          // Lengths up to past PIPE_BUF, so no write is atomic by luck.
          std::string line = std::to_string(t) + " " + std::to_string(i) + " " +
                             std::string(static_cast<size_t>(i % 5000),
                                         static_cast<char>('a' + t));
          writer.Append(line);
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_TRUE(writer.Flush(milliseconds(20000)));
    EXPECT_EQ(writer.dropped_lines(), 0u);
  }
  std::vector<int> next(kThreads, 0);
  std::vector<std::string> lines = Lines(pipe.ReadAll());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kPerThread));
  for (const std::string& line : lines) {
    std::istringstream in(line);
    int t = -1, i = -1;
    std::string body;
    in >> t >> i;
    ASSERT_TRUE(t >= 0 && t < kThreads && i >= 0) << line.substr(0, 80);
    std::getline(in, body);
    EXPECT_EQ(body, " " + std::string(static_cast<size_t>(i % 5000),
                                      static_cast<char>('a' + t)))
        << line.substr(0, 80);
    EXPECT_EQ(i, next[t]) << "thread " << t << " out of order";
    next[t] = i + 1;
  }
}

TEST(AsyncWriterTest, AStuckSinkCostsLinesNotTime) {
  constexpr size_t kMax = 16 << 10;
  constexpr int kLines = 5000;
  Pipe pipe;  // nobody reads it yet
  pipe.Shrink();
  auto owned = std::make_unique<AsyncWriter>(
      AsyncWriter::Options{pipe.write_fd(), kMax});
  AsyncWriter& writer = *owned;
  const std::string line(99, 'x');  // 100 bytes with its newline
  int accepted = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kLines; ++i) accepted += writer.Append(line) ? 1 : 0;
  auto elapsed = std::chrono::steady_clock::now() - start;

  // The pipe holds a page and the queue 16 KiB: most of 500 KB is dropped,
  // every drop is counted, and no Append waited for the sink.
  EXPECT_LT(elapsed, milliseconds(1000));
  EXPECT_GT(writer.dropped_lines(), 0u);
  EXPECT_EQ(accepted + static_cast<int>(writer.dropped_lines()), kLines);
  EXPECT_LE(writer.queued_bytes(), kMax);
  EXPECT_LE(accepted * 100u, kMax + 65536u);
  EXPECT_FALSE(writer.Flush(milliseconds(50)));

  // Once read, every accepted line arrives, whole.
  pipe.StartReading();
  EXPECT_TRUE(writer.Flush(milliseconds(10000)));
  EXPECT_EQ(writer.queued_bytes(), 0u);
  EXPECT_TRUE(writer.Append(line));  // room again
  EXPECT_TRUE(writer.Flush(milliseconds(10000)));
  ++accepted;
  owned.reset();  // closes its copy of the pipe: the reader sees the end
  std::vector<std::string> lines = Lines(pipe.ReadAll());
  EXPECT_EQ(lines.size(), static_cast<size_t>(accepted));
  for (const std::string& l : lines) EXPECT_EQ(l, line);
}

TEST(AsyncWriterTest, ALineLargerThanTheQueueIsDropped) {
  Pipe pipe;
  AsyncWriter writer({pipe.write_fd(), 100});
  EXPECT_FALSE(writer.Append(std::string(100, 'x')));  // 101 with newline
  EXPECT_TRUE(writer.Append(std::string(99, 'x')));
  EXPECT_EQ(writer.dropped_lines(), 1u);
}

TEST(AsyncWriterTest, FlushWaitsUntilEarlierLinesAreWritten) {
  Pipe pipe;
  AsyncWriter writer({pipe.write_fd(), 1 << 20});
  for (int i = 0; i < 100; ++i) writer.Append("flushed " + std::to_string(i));
  ASSERT_TRUE(writer.Flush(milliseconds(10000)));
  // Already in the pipe, while the writer lives on.
  std::string got = pipe.ReadAvailable();
  std::vector<std::string> lines = Lines(got);
  ASSERT_EQ(lines.size(), 100u);
  EXPECT_EQ(lines.back(), "flushed 99");
}

TEST(AsyncWriterTest, DestructionWritesWhatIsQueued) {
  Pipe pipe;
  pipe.StartReading();
  {
    AsyncWriter writer({pipe.write_fd(), 1 << 20});
    for (int i = 0; i < 1000; ++i) writer.Append("queued " + std::to_string(i));
  }
  std::vector<std::string> lines = Lines(pipe.ReadAll());
  ASSERT_EQ(lines.size(), 1000u);
  EXPECT_EQ(lines.back(), "queued 999");
}

TEST(AsyncWriterTest, AFailedWriteCountsTheLinesItLost) {
  int full = open("/dev/full", O_WRONLY);
  ASSERT_GE(full, 0);
  AsyncWriter writer({full, 1 << 20});
  close(full);
  for (int i = 0; i < 3; ++i) writer.Append("lost");
  EXPECT_TRUE(writer.Flush(milliseconds(10000)));
  EXPECT_EQ(writer.dropped_lines(), 3u);
  EXPECT_EQ(writer.queued_bytes(), 0u);
}

TEST(LogTest, EventsGoThroughTheWriterAsJsonLines) {
  Pipe pipe;
  pipe.StartReading();
  {
    ScopedWriterForTesting scoped(std::make_unique<AsyncWriter>(
        AsyncWriter::Options{pipe.write_fd(), 4096}));
    Event(Level::kWarn, "something", {{"key", "va\"lue"}});
    Line(R"({"event":"access"})");
    Line(std::string(5000, 'x'));  // larger than this queue
    EXPECT_TRUE(Flush());
    EXPECT_EQ(DroppedLines(), 1u);
    EXPECT_EQ(QueuedBytes(), 0u);
  }
  std::vector<std::string> lines = Lines(pipe.ReadAll());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("{\"ts\":\"", 0), 0u) << lines[0];
  EXPECT_NE(
      lines[0].find(R"("level":"warn","event":"something","key":"va\"lue"})"),
      std::string::npos)
      << lines[0];
  EXPECT_EQ(lines[1], R"({"event":"access"})");
}

// A process that logs and exits at once still writes every line: the exit
// hook waits for the queue. The logging process's stderr is a pipe read only
// after a pause, so its writer is stuck behind most of the queue when it
// calls exit(). The death test's child is a fresh process with one thread,
// which it may fork.
TEST(LogDeathTest, LinesLoggedJustBeforeExitAreWritten) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        int fds[2];
        if (pipe(fds) != 0) _exit(2);
        pid_t pid = fork();
        if (pid == 0) {
          close(fds[0]);
          dup2(fds[1], 2);
          close(fds[1]);
          // 2.4 MB, well past what the pipe holds, none dropped by the
          // queue (4 MiB).
          for (int i = 0; i < 30000; ++i) {
            Event(Level::kInfo, "filler", {{"i", std::to_string(i)}});
          }
          Event(Level::kInfo, "last_words");
          std::exit(0);
        }
        close(fds[1]);
        std::this_thread::sleep_for(milliseconds(300));
        std::string got;
        char buf[65536];
        for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) {
          got.append(buf, static_cast<size_t>(n));
        }
        int status = 0;
        waitpid(pid, &status, 0);
        bool last = got.find("\"event\":\"last_words\"") != std::string::npos;
        std::fprintf(stderr, "read %zu bytes, last line %s\n", got.size(),
                     last ? "present" : "missing");
        _exit(last && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "last line present");
}

}  // namespace
}  // namespace qs::log
