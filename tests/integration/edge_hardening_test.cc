// The connection rules on a real `serve` over raw sockets: pipelining,
// malformed framing, slow and never-reading clients, running out of file
// descriptors, and an admin listener that answers while PostgreSQL hangs.
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/env.h"
#include "support/fixture.h"
#include "support/raw_connection.h"

namespace qs::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// The status codes of the responses in `s`, in order.
std::vector<int> Statuses(const std::string& s) {
  std::vector<int> out;
  size_t pos = 0;
  while ((pos = s.find("HTTP/1.1 ", pos)) != std::string::npos) {
    out.push_back(std::stoi(s.substr(pos + 9, 3)));
    pos += 9;
  }
  return out;
}

long ProcStatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stol(line.substr(field.size() + 1));
    }
  }
  return -1;
}

// User plus system CPU time of a process, in clock ticks.
long CpuTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stol(f);
    if (i == 15) stime = std::stol(f);
  }
  return utime + stime;
}

class EdgeHardeningTest : public DatabaseTest {
 protected:
  // A Redis of its own: key ids restart in every scratch database, so
  // counts in a shared Redis would carry over from other tests.
  EdgeHardeningTest() : DatabaseTest(/*own_redis=*/true) {}

  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    license_ = cli_->NewLicense("acme");
    token_ = cli_->NewKey(license_);
    for (int i = 0; i < 10; ++i) {
      cli_->Ok({"query", "put", "--license", license_, "--schedule-id",
                "q" + std::to_string(i), "--status", "RUNNING"});
    }
  }

  std::string Get(const std::string& schedule_id,
                  const std::string& extra_headers = "") const {
    return "GET " + StatusTarget("{\"schedule_id\":\"" + schedule_id + "\"}") +
           " HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + token_ +
           "\r\n" + extra_headers + "\r\n";
  }

  std::string license_;
  std::string token_;
};

TEST_F(EdgeHardeningTest, PipelinedRequestsAreEachAnsweredOnceInOrder) {
  Service service(env_, db_->url(), redis_url());
  for (int depth : {2, 5, 10}) {
    RawConnection c(service.port());
    ASSERT_TRUE(c.connected());
    std::string burst;
    for (int i = 0; i < depth; ++i) burst += Get("q" + std::to_string(i));
    ASSERT_TRUE(c.Write(burst));
    std::string got = c.ReadResponses(depth, milliseconds(5000));
    ASSERT_EQ(RawConnection::CountResponses(got), static_cast<size_t>(depth))
        << got;
    // In order: the i-th answer is about the i-th query.
    size_t pos = 0;
    for (int i = 0; i < depth; ++i) {
      std::string id = "\"schedule_id\":\"q" + std::to_string(i) + "\"";
      size_t at = got.find(id, pos);
      ASSERT_NE(at, std::string::npos) << "answer " << i << " missing";
      pos = at;
    }
    EXPECT_EQ(Statuses(got), std::vector<int>(depth, 200));
  }
}

// Pistache 0.0.5 treats a readiness event that is both readable and
// writable as a read only, on edge-triggered sockets: an answer queued just
// as more of the pipeline arrived was never written (about 1 connection in
// 200 here before the guard kicked such writes).
TEST_F(EdgeHardeningTest, PipelinesSplitAcrossManyWritesAreAllAnswered) {
  Service service(env_, db_->url(), redis_url(), {"--rate-limit", "10000"});
  std::string key = cli_->NewKey(license_, 10000);
  constexpr int kThreads = 32, kConnections = 30;
  std::atomic<int> unanswered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kConnections; ++i) {
        std::string burst;
        for (int k = 0; k < 3; ++k) {
          burst += "GET " + StatusTarget("{\"schedule_id\":\"q1\"}") +
                   " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key +
                   "\r\n\r\n";
        }
        RawConnection c(service.port());
        int one = 1;
        setsockopt(c.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        size_t at = 0;
        while (at < burst.size()) {
          size_t n =
              std::min(burst.size() - at, static_cast<size_t>(1 + rng() % 200));
          c.Write(burst.substr(at, n));
          at += n;
          std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
        }
        if (RawConnection::CountResponses(
                c.ReadResponses(3, milliseconds(5000))) != 3) {
          ++unanswered;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unanswered.load(), 0)
      << "connections left waiting for an answer, of "
      << kThreads * kConnections;
}

// A poll is answered on a worker thread while the transport thread writes
// the previous answer and resolves its promise. Pistache 0.0.5's
// ResponseWriter::send returns a chained promise that it resolves without
// the lock under which a continuation is attached: now and then the
// guard's "written" continuation was attached just too late, never ran, and
// the rest of the pipeline was never served (a few in 100,000 requests).
TEST_F(EdgeHardeningTest, LongPipelinedRunsOfPollsAreEachAnswered) {
  Service service(env_, db_->url(), redis_url());
  // A key per thread, each with room for all of its thread's polls.
  constexpr int kThreads = 6, kBursts = 1200, kDepth = 8;
  std::vector<std::string> bursts;
  for (int t = 0; t < kThreads; ++t) {
    std::string key = cli_->NewKey(license_, 10000);
    std::string burst;
    for (int k = 0; k < kDepth; ++k) {
      burst += "GET " + StatusTarget("{\"schedule_id\":\"q1\"}") +
               " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key +
               "\r\n\r\n";
    }
    bursts.push_back(std::move(burst));
  }
  std::atomic<int> stalled{0};
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto c = std::make_unique<RawConnection>(service.port());
      for (int i = 0; i < kBursts; ++i) {
        if (!c->Write(bursts[t])) {
          ++stalled;
          return;
        }
        size_t got = RawConnection::CountResponses(
            c->ReadResponses(kDepth, milliseconds(3000)));
        answered += static_cast<int>(got);
        if (got != kDepth) {
          ++stalled;  // a new connection goes on with the run
          c = std::make_unique<RawConnection>(service.port());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(stalled.load(), 0)
      << "pipelines left waiting, of " << kThreads * kBursts;
  EXPECT_EQ(answered.load(), kThreads * kBursts * kDepth);
}

TEST_F(EdgeHardeningTest, PipelinedHealthChecksAreEachAnswered) {
  Service service(env_, db_->url(), redis_url());
  RawConnection c(service.admin_port());
  std::string burst;
  for (int i = 0; i < 10; ++i)
    burst += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c.Write(burst));
  std::string got = c.ReadResponses(10, milliseconds(5000));
  EXPECT_EQ(Statuses(got), std::vector<int>(10, 200)) << got;
}

TEST_F(EdgeHardeningTest,
       MalformedFramingGetsProblemDetailsAndAClosedConnection) {
  Service service(env_, db_->url(), redis_url());
  struct Case {
    std::string name;
    std::string request;
    int status;
  };
  const std::string line = "GET /query/status HTTP/1.1\r\nHost: x\r\n";
  std::vector<Case> cases = {
      {"negative length", line + "Content-Length: -1\r\n\r\n", 400},
      {"non-numeric length", line + "Content-Length: abc\r\n\r\n", 400},
      {"two different lengths",
       line + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
      {"length and chunked",
       line +
           "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"broken chunk size",
       line + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
       400},
      {"unknown transfer coding", line + "Transfer-Encoding: gzip\r\n\r\n",
       400},
      {"bare line feed", "GET /query/status HTTP/1.1\nHost: x\n\n", 400},
      {"folded header", line + "X-A: b\r\n c\r\n\r\n", 400},
      {"space before colon", line + "X-A : b\r\n\r\n", 400},
      {"bad version", "GET /query/status HTTP/2.0\r\n\r\n", 400},
      {"body too large", line + "Content-Length: 100000\r\n\r\n", 413},
      {"request line too long",
       "GET /" + std::string(17000, 'a') + " HTTP/1.1\r\n\r\n", 414},
      {"header fields too large",
       line + "X-A: " + std::string(40000, 'b') + "\r\n\r\n", 431},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RawConnection conn(service.port());
    ASSERT_TRUE(conn.Write(c.request));
    bool closed = false;
    std::string got = conn.ReadAll(milliseconds(5000), &closed);
    ASSERT_EQ(Statuses(got), std::vector<int>{c.status}) << got;
    EXPECT_NE(got.find("Content-Type: application/problem+json"),
              std::string::npos);
    EXPECT_NE(got.find("Access-Control-Allow-Origin: *"), std::string::npos);
    EXPECT_NE(got.find("X-Request-Id: "), std::string::npos);
    EXPECT_NE(got.find("Cache-Control: no-store"), std::string::npos);
    std::string lower = got;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
    EXPECT_NE(lower.find("connection: close"), std::string::npos);
    EXPECT_EQ(got.find("basic_string"), std::string::npos);
    EXPECT_TRUE(closed) << "the connection must be closed after a refusal";
  }
  // And the instance still serves.
  RawConnection ok(service.port());
  ASSERT_TRUE(ok.Write(Get("q1")));
  EXPECT_EQ(Statuses(ok.ReadResponses(1, milliseconds(5000))),
            std::vector<int>{200});
}

TEST_F(EdgeHardeningTest, IncompleteRequestGets408WithTheServiceHeaders) {
  Service service(env_, db_->url(), redis_url());
  RawConnection conn(service.port());
  auto start = steady_clock::now();
  ASSERT_TRUE(conn.Write("GET /query/status HTTP/1.1\r\nHost: x\r\n"));
  bool closed = false;
  std::string got = conn.ReadAll(milliseconds(15000), &closed);
  auto waited = steady_clock::now() - start;
  EXPECT_EQ(Statuses(got), std::vector<int>{408}) << got;
  EXPECT_NE(got.find("application/problem+json"), std::string::npos);
  EXPECT_NE(got.find("X-Request-Id: "), std::string::npos);
  EXPECT_TRUE(closed);
  EXPECT_GE(waited, std::chrono::seconds(9));
}

TEST_F(EdgeHardeningTest, ClientThatNeverReadsCannotGrowMemory) {
  // A page of about 50 KB.
  cli_->Ok({"query", "put", "--license", license_, "--schedule-id", "big",
            "--status", "SUCCESS", "--ready", "1", "--total", "1"});
  std::string rows;
  for (int i = 0; i < 1000; ++i) {
    rows += "{\"row\":" + std::to_string(i) +
            ",\"text\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}\n";
  }
  cli_->Ok({"rows", "load", "--schedule-id", "big"}, rows);
  Service service(env_, db_->url(), redis_url(), {"--rate-limit", "10000"});
  pid_t pid = service.process().pid();
  // Warm: the page is cached and every arena is in use once.
  ASSERT_EQ(HttpRequest(service.port(), "GET",
                        StatusTarget("{\"schedule_id\":\"big\"}"),
                        {{"Authorization", "Bearer " + token_}})
                .status,
            200);
  long before_kb = ProcStatusKb(pid, "VmRSS");

  RawConnection conn(service.port(), /*receive_buffer=*/4096);
  ASSERT_TRUE(conn.connected());
  timeval tv{0, 200000};
  setsockopt(conn.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const std::string request = Get("big");
  auto until = steady_clock::now() + std::chrono::seconds(6);
  size_t written = 0;
  while (steady_clock::now() < until) {
    ssize_t n = send(conn.fd(), request.data(), request.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) continue;
      break;  // closed by the server: allowed
    }
    written += static_cast<size_t>(n);
  }
  long after_kb = ProcStatusKb(pid, "VmRSS");
  std::cout << "client that never reads: " << written / request.size()
            << " requests written; RSS " << before_kb / 1024 << " MiB -> "
            << after_kb / 1024 << " MiB\n";
  // Under AddressSanitizer freed memory waits in its quarantine (256 MiB by
  // default) before reuse, and ThreadSanitizer keeps shadow memory and
  // access history for what the requests touched, so RSS grows with
  // allocation churn alone there; the unbounded growth this guards against
  // went past 600 MiB in 6 seconds.
  const bool sanitized =
      getenv("ASAN_OPTIONS") != nullptr || getenv("TSAN_OPTIONS") != nullptr;
  const long bound_kb = sanitized ? 128 * 1024 : 32 * 1024;
  EXPECT_LT(after_kb - before_kb, bound_kb);
  EXPECT_TRUE(service.process().Running());
}

TEST_F(EdgeHardeningTest, OutOfFileDescriptorsDoesNotSpinAndRecovers) {
  Service service(env_, db_->url(), redis_url());
  pid_t pid = service.process().pid();
  // An open keep-alive connection that must go on being served.
  RawConnection kept(service.port());
  ASSERT_TRUE(kept.Write(Get("q1")));
  ASSERT_EQ(Statuses(kept.ReadResponses(1, milliseconds(5000))),
            std::vector<int>{200});

  ProcessResult limit =
      RunProcess({"prlimit", "--pid", std::to_string(pid), "--nofile=200:200"});
  ASSERT_EQ(limit.exit_code, 0) << limit.err;
  std::vector<std::unique_ptr<RawConnection>> flood;
  for (int i = 0; i < 400; ++i) {
    flood.push_back(std::make_unique<RawConnection>(service.port()));
  }
  std::this_thread::sleep_for(milliseconds(500));
  long cpu_before = CpuTicks(pid);
  auto t0 = steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  double cpu_seconds =
      static_cast<double>(CpuTicks(pid) - cpu_before) / sysconf(_SC_CLK_TCK);
  double wall = std::chrono::duration<double>(steady_clock::now() - t0).count();
  std::cout << "out of descriptors: " << 100.0 * cpu_seconds / wall
            << "% of a core while 400 connections wait\n";
  EXPECT_LT(cpu_seconds / wall, 0.15);

  // The connection it already had is still served.
  ASSERT_TRUE(kept.Write(Get("q2")));
  EXPECT_EQ(Statuses(kept.ReadResponses(1, milliseconds(5000))),
            std::vector<int>{200});

  // Descriptors free again: new connections are accepted and served.
  flood.clear();
  bool served = Eventually(
      [&] {
        RawConnection fresh(service.port());
        if (!fresh.Write(Get("q3"))) return false;
        return Statuses(fresh.ReadResponses(1, milliseconds(1000))) ==
               std::vector<int>{200};
      },
      10000);
  EXPECT_TRUE(served);
  // The pauses are counted (read once descriptors are free again).
  EXPECT_GT(service.Metric("querystatus_http_accept_backoffs_total"), 0);
}

// Stops (SIGSTOP) every process of the test PostgreSQL, and continues them
// when it goes out of scope, whatever happens to the assertions.
class PostgresFreeze {
 public:
  explicit PostgresFreeze(const std::string& data_dir) {
    std::ifstream pidfile(data_dir + "/postmaster.pid");
    pid_t postmaster = 0;
    pidfile >> postmaster;
    if (postmaster <= 0) return;
    pids_.push_back(postmaster);
    DIR* proc = opendir("/proc");
    while (dirent* e = proc ? readdir(proc) : nullptr) {
      pid_t pid = atoi(e->d_name);
      if (pid <= 0) continue;
      std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
      std::string s((std::istreambuf_iterator<char>(stat)),
                    std::istreambuf_iterator<char>());
      size_t close_paren = s.rfind(')');
      if (close_paren == std::string::npos) continue;
      std::istringstream rest(s.substr(close_paren + 2));
      std::string state;
      pid_t ppid = 0;
      rest >> state >> ppid;
      if (ppid == postmaster) pids_.push_back(pid);
    }
    if (proc) closedir(proc);
    for (pid_t p : pids_) kill(p, SIGSTOP);
  }
  ~PostgresFreeze() {
    for (pid_t p : pids_) kill(p, SIGCONT);
  }
  bool frozen() const { return !pids_.empty(); }

 private:
  std::vector<pid_t> pids_;
};

TEST_F(EdgeHardeningTest, HealthzAnswersAtOnceWhilePostgresIsFrozen) {
  ASSERT_FALSE(env_.pg_data.empty()) << "QS_TEST_PG_DATA is not set";
  Service service(env_, db_->url(), redis_url(),
                  {"--database-timeout-ms", "3000"});
  ASSERT_EQ(HttpGet(service.admin_port(), "/readyz").status, 200);
  milliseconds worst_healthz{0}, worst_readyz{0};
  int readyz_503 = 0;
  {
    PostgresFreeze freeze(env_.pg_data);
    ASSERT_TRUE(freeze.frozen());
    auto until = steady_clock::now() + std::chrono::seconds(4);
    while (steady_clock::now() < until) {
      auto t = steady_clock::now();
      HttpResponse h =
          HttpRequest(service.admin_port(), "GET", "/healthz", {}, 2000);
      worst_healthz = std::max(
          worst_healthz,
          std::chrono::duration_cast<milliseconds>(steady_clock::now() - t));
      EXPECT_EQ(h.status, 200);
      t = steady_clock::now();
      HttpResponse r =
          HttpRequest(service.admin_port(), "GET", "/readyz", {}, 2000);
      worst_readyz = std::max(
          worst_readyz,
          std::chrono::duration_cast<milliseconds>(steady_clock::now() - t));
      if (r.status == 503) ++readyz_503;
      std::this_thread::sleep_for(milliseconds(100));
    }
  }
  std::cout << "PostgreSQL frozen: /healthz worst " << worst_healthz.count()
            << " ms, /readyz worst " << worst_readyz.count() << " ms, "
            << readyz_503 << " not-ready answers\n";
  EXPECT_LT(worst_healthz, milliseconds(250));
  EXPECT_LT(worst_readyz, milliseconds(250));
  EXPECT_GT(readyz_503, 0) << "readiness must notice the frozen database";
  // Back: ready again without a restart.
  EXPECT_TRUE(Eventually(
      [&] { return HttpGet(service.admin_port(), "/readyz").status == 200; },
      15000));
}

}  // namespace
}  // namespace qs::testing
