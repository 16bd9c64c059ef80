// coding_levels: what each compression level costs and gives on the
// benchmark's 10,000-row page, to choose the levels of src/api/body_coding.h.
// Built with -DQS_BUILD_BENCH=ON; run `build-bench/coding_levels [ROWS]`.
//
// The page is the one tests/bench/run seeds (rows of about 60 bytes, the
// same text), rendered by the service's own RenderStatusBody. For each
// coding and level it prints the compressed size of the body's tail (what
// is kept with a cached page), the ratio to the identity body, the CPU time
// to compress it once (the median of several runs: what a cache miss pays
// on the request path), and the CPU time JoinHead then takes per response.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "api/status_json.h"
#include "common/content_coding.h"

namespace {

// The rows of tests/bench/run's seed, comma-joined as the store keeps them.
std::string BenchRows(int rows) {
  std::string s;
  char buf[128];
  for (int i = 0; i < rows; ++i) {
    std::snprintf(buf, sizeof buf,
                  "{\"row\":%d,\"date\":\"2026-%02d-%02d\",\"clicks\":%d,"
                  "\"cost\":%d.%02d}",
                  i, i % 12 + 1, i % 28 + 1, (i * 7919) % 100000,
                  (i * 31) % 1000, i % 100);
    if (i) s += ',';
    s += buf;
  }
  return s;
}

// CPU time of this thread, in microseconds: what a run costs, and less
// moved than wall time by other work on the machine.
double ThreadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 +
         static_cast<double>(ts.tv_nsec) / 1e3;
}

template <typename F>
double MedianMicros(int runs, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    double start = ThreadCpuMicros();
    f();
    t.push_back(ThreadCpuMicros() - start);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int rows = argc > 1 ? std::atoi(argv[1]) : 10000;
  std::string rows_json = BenchRows(rows);
  qs::api::PageLinks links{std::nullopt, std::nullopt};
  qs::api::StatusView v{"3kPq0e6bLrV1yq9XwS2m1A",
                        "bench_success",
                        qs::QueryStatusCode::kSuccess,
                        3,
                        3,
                        2,
                        1,
                        rows,
                        rows_json,
                        &links};
  std::string head, tail;
  qs::api::RenderStatusHead(v.request_id, &head);
  qs::api::RenderStatusTail(v, &tail);
  std::printf("identity body: %zu bytes (%d rows)\n\n",
              head.size() + tail.size(), rows);
  std::printf(
      "| coding | level | bytes | ratio | compress once | join per response "
      "|\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  struct Case {
    qs::Encoding coding;
    int level;
  };
  for (Case c : {Case{qs::Encoding::kGzip, 1}, Case{qs::Encoding::kGzip, 6},
                 Case{qs::Encoding::kGzip, 9}, Case{qs::Encoding::kZstd, 1},
                 Case{qs::Encoding::kZstd, 3}, Case{qs::Encoding::kZstd, 6},
                 Case{qs::Encoding::kZstd, 9}, Case{qs::Encoding::kZstd, 19}}) {
    qs::Result<qs::CompressedTail> compressed =
        qs::CompressTail(c.coding, tail, c.level);
    if (!compressed.ok()) {
      std::fprintf(stderr, "%s\n", compressed.error().internal.c_str());
      return 1;
    }
    int runs = c.level >= 19 ? 3 : 9;
    double once = MedianMicros(
        runs, [&] { (void)qs::CompressTail(c.coding, tail, c.level); });
    std::string joined;
    double join = MedianMicros(
        201, [&] { joined = qs::JoinHead(head, compressed.value()); });
    std::printf("| %s | %d | %zu | %.3f | %.2f ms | %.1f µs |\n",
                std::string(qs::EncodingName(c.coding)).c_str(), c.level,
                joined.size(),
                static_cast<double>(joined.size()) /
                    static_cast<double>(head.size() + tail.size()),
                once / 1000, join);
  }
  return 0;
}
