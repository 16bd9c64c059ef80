#include "common/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace qs {
namespace {

using random_internal::FillFrom;

// A scripted source: each call plays the next step, a byte count to hand
// out (filled with 0xAB) or an errno to fail with.
struct Step {
  ssize_t bytes;
  int error;
};
std::vector<Step> script;
size_t next_step;
size_t calls;

ssize_t Scripted(void* buf, size_t len, unsigned /*flags*/) {
  ++calls;
  Step s = next_step < script.size() ? script[next_step++] : Step{-1, ENOSYS};
  if (s.bytes < 0) {
    errno = s.error;
    return -1;
  }
  size_t n = std::min(static_cast<size_t>(s.bytes), len);
  std::memset(buf, 0xAB, n);
  return static_cast<ssize_t>(n);
}

class FillFromTest : public ::testing::Test {
 protected:
  void Play(std::vector<Step> steps) {
    script = std::move(steps);
    next_step = 0;
    calls = 0;
  }
};

TEST_F(FillFromTest, ShortReadsAreContinuedWhereTheyStopped) {
  Play({{3, 0}, {1, 0}, {100, 0}});
  unsigned char buf[16] = {};
  EXPECT_EQ(FillFrom(&Scripted, buf, sizeof buf), 0);
  EXPECT_EQ(calls, 3u);
  for (unsigned char b : buf) EXPECT_EQ(b, 0xAB);
}

TEST_F(FillFromTest, InterruptedAndRepeatCallsAreRetried) {
  Play({{-1, EINTR}, {5, 0}, {-1, EAGAIN}, {-1, EINTR}, {100, 0}});
  unsigned char buf[8] = {};
  EXPECT_EQ(FillFrom(&Scripted, buf, sizeof buf), 0);
  EXPECT_EQ(calls, 5u);
  for (unsigned char b : buf) EXPECT_EQ(b, 0xAB);
}

TEST_F(FillFromTest, ARealFailureStopsWithItsErrnoInsteadOfSpinning) {
  Play({{4, 0}, {-1, ENOSYS}, {100, 0}});
  unsigned char buf[8] = {};
  EXPECT_EQ(FillFrom(&Scripted, buf, sizeof buf), ENOSYS);
  EXPECT_EQ(calls, 2u);
}

TEST_F(FillFromTest, ASourceThatGivesNothingIsAFailure) {
  Play({{0, 0}, {100, 0}});
  unsigned char buf[8] = {};
  EXPECT_EQ(FillFrom(&Scripted, buf, sizeof buf), EIO);
  EXPECT_EQ(calls, 1u);
}

TEST_F(FillFromTest, NothingAskedIsNothingRead) {
  Play({});
  EXPECT_EQ(FillFrom(&Scripted, nullptr, 0), 0);
  EXPECT_EQ(calls, 0u);
}

TEST(FillRandomTest, FillsEveryByteAndNeverRepeatsABuffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string buf(1000, '\0');
    FillRandom(buf.data(), buf.size());
    // 1000 random bytes take about 250 of the 256 values; a buffer left
    // partly unfilled (zero) takes far fewer.
    std::set<char> values(buf.begin(), buf.end());
    EXPECT_GT(values.size(), 200u);
    seen.insert(buf);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace qs
