#include "store/socket_deadlines.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace qs::store {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A connected pair of sockets, closed at the end of the test.
class SocketDeadlinesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
  }
  void TearDown() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  // Whether a byte sent from the far end still arrives at fds_[0].
  bool StillConnected() {
    char c = 'x';
    if (write(fds_[1], &c, 1) != 1) return false;
    return read(fds_[0], &c, 1) == 1;
  }
  // Longer than the watchdog takes to notice a passed deadline.
  static void OutwaitTheWatchdog() {
    std::this_thread::sleep_for(milliseconds(200));
  }

  int fds_[2];
  SocketDeadlines deadlines_;
};

TEST_F(SocketDeadlinesTest, ACallPastItsDeadlineIsCutOff) {
  auto start = steady_clock::now();
  ssize_t n = deadlines_.Within(fds_[0], start + milliseconds(20), [&] {
    char c;
    return read(fds_[0], &c, 1);  // nothing is sent: blocks until shut down
  });
  EXPECT_EQ(n, 0);
  EXPECT_LT(steady_clock::now() - start, milliseconds(2000));
}

TEST_F(SocketDeadlinesTest, ACallThatReturnsInTimeLeavesTheSocketAlone) {
  int answer = deadlines_.Within(
      fds_[0], steady_clock::now() + milliseconds(20), [] { return 42; });
  EXPECT_EQ(answer, 42);
  OutwaitTheWatchdog();
  EXPECT_TRUE(StillConnected());
}

TEST_F(SocketDeadlinesTest, ACallThatThrowsIsDisarmedToo) {
  EXPECT_THROW(
      deadlines_.Within(fds_[0], steady_clock::now() + milliseconds(20),
                        []() -> int { throw std::runtime_error("x"); }),
      std::runtime_error);
  OutwaitTheWatchdog();
  EXPECT_TRUE(StillConnected());
}

}  // namespace
}  // namespace qs::store
