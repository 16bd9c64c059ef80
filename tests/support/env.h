#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/process.h"

namespace qs::testing {

// What tests/run provides: a PostgreSQL superuser URL, a Redis URL, the
// binary under test and the source tree.
struct TestEnv {
  std::string database_url;
  std::string redis_url;
  std::string binary;
  std::string source_dir;
  std::string pg_data;  // optional: the test server's data folder
};

// The environment, or an explanation of what is missing (tests must fail on
// it, not skip: a green run that tested nothing would lie).
std::optional<TestEnv> LoadTestEnv(std::string* missing);

// A new database on the test server, migrated, dropped on destruction, so
// each fixture starts from an empty schema.
class ScratchDatabase {
 public:
  explicit ScratchDatabase(const TestEnv& env);
  ~ScratchDatabase();
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Runs SQL on it and returns the first column of every row.
  std::vector<std::string> Query(const std::string& sql) const;

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

// The binary's operator commands against one database and Redis.
class Cli {
 public:
  Cli(const TestEnv& env, std::string database_url, std::string redis_url);
  ProcessResult Run(const std::vector<std::string>& args,
                    const std::string& input = "") const;
  // Runs and expects exit 0; returns stdout without its trailing newline.
  std::string Ok(const std::vector<std::string>& args,
                 const std::string& input = "") const;

  // Conveniences over Ok().
  std::string NewLicense(const std::string& name, int rate_limit = 0) const;
  std::string NewKey(const std::string& license, int rate_limit = 0) const;

 private:
  TestEnv env_;
  std::string database_url_;
  std::string redis_url_;
};

// A `querystatus serve` child on free loopback ports; waits until /healthz
// answers. Extra flags are appended; `--drain-delay-seconds` defaults to 0
// unless they set it.
class Service {
 public:
  Service(const TestEnv& env, const std::string& database_url,
          const std::string& redis_url,
          std::vector<std::string> extra_flags = {});
  ~Service();
  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  ChildProcess& process() { return *process_; }
  std::string log() const { return ReadFile(log_path_); }
  // A metric's value from /metrics: the sum of every sample whose line
  // starts with `prefix` (e.g.
  // `querystatus_ratelimit_decisions_total{decision="fail_open"`).
  double Metric(const std::string& prefix) const;

 private:
  int port_;
  int admin_port_;
  std::string log_path_;
  std::unique_ptr<ChildProcess> process_;
};

// A redis-server of the test's own on a free port, which the test may stop
// and start again on the same port.
class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  void Start();
  void Stop();
  std::string url() const;
  int port() const { return port_; }
  // Runs redis-cli against it and returns stdout.
  std::string Cli(const std::vector<std::string>& args) const;

 private:
  int port_;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
};

// Polls `done` every 20 ms until it is true or `timeout_ms` passed.
bool Eventually(const std::function<bool()>& done, int timeout_ms);

// Calls `get` every 20 ms until `done` holds for its answer or `timeout_ms`
// passed, and returns the last answer: the caller asserts on it, so a
// failure shows what the server said last.
HttpResponse PollUntil(const std::function<HttpResponse()>& get,
                       const std::function<bool(const HttpResponse&)>& done,
                       int timeout_ms);

}  // namespace qs::testing
