#include "support/env.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <thread>

namespace qs::testing {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string RandomSuffix() {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  std::ostringstream os;
  os << std::hex << gen();
  return os.str();
}

// The URL with its database name replaced (postgresql://.../name?params).
std::string WithDatabase(const std::string& url, const std::string& name) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme + 3);
  auto query = url.find('?', scheme + 3);
  std::string base = url.substr(0, slash == std::string::npos ? query : slash);
  std::string params = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + name + params;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::optional<TestEnv> LoadTestEnv(std::string* missing) {
  TestEnv env{Env("QS_TEST_DATABASE_URL"), Env("QS_TEST_REDIS_URL"),
              Env("QS_BINARY"), Env("QS_SOURCE_DIR"), Env("QS_TEST_PG_DATA")};
#ifdef QS_DEFAULT_BINARY
  if (env.binary.empty()) env.binary = QS_DEFAULT_BINARY;
#endif
#ifdef QS_SOURCE_DIR
  if (env.source_dir.empty()) env.source_dir = QS_SOURCE_DIR;
#endif
  std::string m;
  if (env.database_url.empty()) m += " QS_TEST_DATABASE_URL";
  if (env.redis_url.empty()) m += " QS_TEST_REDIS_URL";
  if (!m.empty()) {
    *missing = "missing" + m + ": run the integration tests through tests/run";
    return std::nullopt;
  }
  return env;
}

ScratchDatabase::ScratchDatabase(const TestEnv& env)
    : admin_url_(env.database_url), name_("qs_it_" + RandomSuffix()) {
  {
    pqxx::connection c(admin_url_);
    pqxx::nontransaction tx(c);
    tx.exec("CREATE DATABASE " + name_);
  }
  url_ = WithDatabase(admin_url_, name_);
  auto r = RunProcess({env.binary, "migrate", "--database-url", url_,
                       "--migrations-dir", env.source_dir + "/migrations"});
  if (r.exit_code != 0) {
    ADD_FAILURE() << "migrate failed: " << r.err;
  }
}

ScratchDatabase::~ScratchDatabase() {
  try {
    pqxx::connection c(admin_url_);
    pqxx::nontransaction tx(c);
    tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    // The server may be down on purpose in a fault test; leave it.
  }
}

std::vector<std::string> ScratchDatabase::Query(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  std::vector<std::string> out;
  for (const auto& row : tx.exec(sql)) {
    out.push_back(row[0].is_null() ? "" : row[0].c_str());
  }
  return out;
}

Cli::Cli(const TestEnv& env, std::string database_url, std::string redis_url)
    : env_(env),
      database_url_(std::move(database_url)),
      redis_url_(std::move(redis_url)) {}

ProcessResult Cli::Run(const std::vector<std::string>& args,
                       const std::string& input) const {
  std::vector<std::string> argv{env_.binary};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, input,
                    {{"QS_DATABASE_URL", database_url_},
                     {"QS_REDIS_URL", redis_url_},
                     {"QS_MIGRATIONS_DIR", env_.source_dir + "/migrations"}});
}

std::string Cli::Ok(const std::vector<std::string>& args,
                    const std::string& input) const {
  auto r = Run(args, input);
  EXPECT_EQ(r.exit_code, 0) << "querystatus " << ::testing::PrintToString(args)
                            << " failed: " << r.err;
  return Trim(r.out);
}

std::string Cli::NewLicense(const std::string& name, int rate_limit) const {
  std::vector<std::string> args{"license", "create", "--name", name};
  if (rate_limit > 0) {
    args.push_back("--rate-limit");
    args.push_back(std::to_string(rate_limit));
  }
  return Ok(args);
}

std::string Cli::NewKey(const std::string& license, int rate_limit) const {
  std::vector<std::string> args{"key", "create", "--license", license};
  if (rate_limit > 0) {
    args.push_back("--rate-limit");
    args.push_back(std::to_string(rate_limit));
  }
  return Ok(args);
}

Service::Service(const TestEnv& env, const std::string& database_url,
                 const std::string& redis_url,
                 std::vector<std::string> extra_flags)
    : port_(FreePort()), admin_port_(FreePort(port_)) {
  log_path_ = "/tmp/qs-it-service-" + RandomSuffix() + ".log";
  std::vector<std::string> argv{
      env.binary,       "serve",
      "--listen",       "127.0.0.1:" + std::to_string(port_),
      "--admin-listen", "127.0.0.1:" + std::to_string(admin_port_),
      "--database-url", database_url,
      "--redis-url",    redis_url};
  // No drain delay unless the test sets one (a flag may not be given twice).
  if (std::find(extra_flags.begin(), extra_flags.end(),
                "--drain-delay-seconds") == extra_flags.end()) {
    argv.push_back("--drain-delay-seconds");
    argv.push_back("0");
  }
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  process_ = std::make_unique<ChildProcess>(
      argv, std::map<std::string, std::string>{}, log_path_);
  bool up = Eventually(
      [&] {
        return HttpGet(admin_port_, "/healthz").status == 200 ||
               !process_->Running();
      },
      15000);
  if (!up || !process_->Running()) {
    ADD_FAILURE() << "serve did not start; log:\n" << log();
  }
}

Service::~Service() {
  if (process_->Running()) {
    process_->Signal(SIGTERM);
    if (process_->Wait(std::chrono::seconds(15)) < 0) process_->Signal(SIGKILL);
  }
  unlink(log_path_.c_str());
}

double Service::Metric(const std::string& prefix) const {
  std::string text = HttpGet(admin_port_, "/metrics").body;
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    auto space = line.rfind(' ');
    sum += std::stod(line.substr(space + 1));
  }
  return sum;
}

RedisServer::RedisServer() : port_(FreePort()) {
  char tmpl[] = "/tmp/qs-it-redis-XXXXXX";
  dir_ = mkdtemp(tmpl);
  Start();
}

RedisServer::~RedisServer() {
  Stop();
  RunProcess({"rm", "-rf", dir_});
}

void RedisServer::Start() {
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"redis-server", "--port", std::to_string(port_),
                               "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", dir_},
      std::map<std::string, std::string>{}, dir_ + "/redis.log");
  bool up = Eventually(
      [&] { return Cli({"PING"}).find("PONG") != std::string::npos; }, 10000);
  if (!up) ADD_FAILURE() << "redis-server did not start";
}

void RedisServer::Stop() {
  if (process_ && process_->Running()) {
    process_->Signal(SIGKILL);
    process_->Wait(std::chrono::seconds(5));
  }
  process_.reset();
}

std::string RedisServer::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/0";
}

std::string RedisServer::Cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"redis-cli", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, "", {}, std::chrono::seconds(10)).out;
}

bool Eventually(const std::function<bool()>& done, int timeout_ms) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

HttpResponse PollUntil(const std::function<HttpResponse()>& get,
                       const std::function<bool(const HttpResponse&)>& done,
                       int timeout_ms) {
  HttpResponse last;
  Eventually(
      [&] {
        last = get();
        return done(last);
      },
      timeout_ms);
  return last;
}

}  // namespace qs::testing
