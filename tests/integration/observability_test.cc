// What operators see: /metrics is valid Prometheus text (checked by
// promtool) and moves with the traffic, the fail-open counter moves in a
// Redis outage, and the access log has one JSON line per request and never
// any part of a token.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/env.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

constexpr char k200[] =
    "querystatus_http_requests_total{method=\"GET\",route=\"/query/"
    "status\",status=\"200\"}";
constexpr char kLatencyCount[] =
    "querystatus_http_request_duration_seconds_count{method=\"GET\",route=\"/"
    "query/"
    "status\"}";
constexpr char kFailOpen[] =
    "querystatus_ratelimit_decisions_total{decision=\"fail_open\"";

class ObservabilityTest : public DatabaseTest {
 protected:
  ObservabilityTest() : DatabaseTest(/*own_redis=*/true) {}
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    license_ = cli_->NewLicense("acme");
    token_ = cli_->NewKey(license_);
    small_token_ = cli_->NewKey(license_, 1);
    cli_->Ok({"query", "put", "--license", license_, "--schedule-id", "q1",
              "--status", "SUCCESS"});
    cli_->Ok({"rows", "load", "--schedule-id", "q1"}, "{\"a\":1}\n{\"a\":2}\n");
  }

  // The traffic of every kind; returns the statuses in order.
  std::vector<int> MixedTraffic(const Service& s) {
    auto bearer = [](const std::string& t) {
      return std::map<std::string, std::string>{
          {"Authorization", "Bearer " + t}};
    };
    std::vector<int> statuses;
    auto add = [&](const HttpResponse& r) { statuses.push_back(r.status); };
    add(HttpGet(s.port(), StatusTarget("{\"schedule_id\":\"q1\"}"),
                bearer(token_)));
    // The token in the query string.
    add(HttpGet(s.port(),
                StatusTarget("{\"schedule_id\":\"q1\",\"api_key\":\"" + token_ +
                             "\"}")));
    // Both, the same: fine; both, different: 400.
    add(HttpGet(
        s.port(),
        StatusTarget("{\"schedule_id\":\"q1\",\"api_key\":\"" + token_ + "\"}"),
        bearer(token_)));
    add(HttpGet(s.port(),
                StatusTarget("{\"schedule_id\":\"q1\",\"api_key\":\"" +
                             small_token_ + "\"}"),
                bearer(token_)));
    add(HttpGet(s.port(), StatusTarget("{\"schedule_id\":\"q1\"}")));  // 401
    add(HttpGet(s.port(), StatusTarget("{\"schedule_id\":\"q1\"}"),
                bearer("qsk_not_a_real_key_0123456789")));  // 401
    add(HttpGet(s.port(), StatusTarget("{\"schedule_id\":\"nope\"}"),
                bearer(token_)));
    add(HttpGet(s.port(), StatusTarget("{\"schedule_id\":\"q1\"}"),
                bearer(small_token_)));
    add(HttpGet(s.port(), StatusTarget("{\"schedule_id\":\"q1\"}"),
                bearer(small_token_)));
    add(HttpGet(s.port(), "/query/status?json=%7Bnot-json"));  // 400
    return statuses;
  }

  std::string license_;
  std::string token_;
  std::string small_token_;
};

TEST_F(ObservabilityTest, MetricsPassPromtoolAndMoveWithTraffic) {
  ProcessResult which = RunProcess({"sh", "-c", "command -v promtool"});
  ASSERT_EQ(which.exit_code, 0) << "promtool is not on PATH: install Debian's "
                                   "prometheus package (tests/run does)";
  Service service(env_, db_->url(), redis_->url());
  double ok_before = service.Metric(k200);
  double latency_before = service.Metric(kLatencyCount);

  std::vector<int> statuses = MixedTraffic(service);
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200, 400, 401, 401, 404, 200,
                                        429, 400}));

  std::string text = HttpGet(service.admin_port(), "/metrics").body;
  ASSERT_FALSE(text.empty());
  ProcessResult check = RunProcess({"promtool", "check", "metrics"}, text);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(check.out + check.err, "") << "promtool lint findings";

  EXPECT_EQ(service.Metric(k200) - ok_before, 4);
  EXPECT_EQ(service.Metric(kLatencyCount) - latency_before, statuses.size());
  for (const char* status : {"400", "401", "404", "429"}) {
    std::string prefix =
        std::string(
            "querystatus_http_requests_total{method=\"GET\",route=\"/query/"
            "status\",status=\"") +
        status + "\"}";
    EXPECT_GT(service.Metric(prefix), 0) << prefix;
  }
  EXPECT_EQ(service.Metric(
                "querystatus_ratelimit_decisions_total{decision=\"limited\","
                "scope=\"key\"}"),
            1);
  EXPECT_EQ(
      service.Metric("querystatus_auth_failures_total{reason=\"mismatch\"}"),
      1);
  EXPECT_EQ(
      service.Metric("querystatus_auth_failures_total{reason=\"missing\"}"), 1);
  EXPECT_EQ(
      service.Metric("querystatus_auth_failures_total{reason=\"unknown\"}"), 1);
  EXPECT_EQ(service.Metric("querystatus_response_rows_total"), 8);
  // The gauge follows the readiness probe.
  EXPECT_EQ(HttpGet(service.admin_port(), "/readyz").status, 200);
  EXPECT_EQ(service.Metric("querystatus_ready"), 1);
  EXPECT_EQ(service.Metric("querystatus_build_info{"), 1);
}

TEST_F(ObservabilityTest, FailOpenCounterMovesWhenRedisIsDown) {
  Service service(env_, db_->url(), redis_->url());
  auto poll = [&] {
    return HttpGet(service.port(), StatusTarget("{\"schedule_id\":\"q1\"}"),
                   {{"Authorization", "Bearer " + token_}});
  };
  ASSERT_EQ(poll().status, 200);
  EXPECT_EQ(service.Metric(kFailOpen), 0);
  double redis_errors = service.Metric("querystatus_redis_errors_total");
  redis_->Stop();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(poll().status, 200);
  EXPECT_EQ(service.Metric(kFailOpen), 3);
  EXPECT_EQ(service.Metric(std::string(kFailOpen) + ",scope=\"key\"}"), 3);
  EXPECT_GT(service.Metric("querystatus_redis_errors_total"), redis_errors);
}

TEST_F(ObservabilityTest, AccessLogHasOneJsonLinePerRequestAndNoToken) {
  Service service(env_, db_->url(), redis_->url());
  std::vector<int> statuses = MixedTraffic(service);
  ASSERT_EQ(statuses.size(), 10u);
  // The log is written after the response is sent: wait for the last line.
  std::vector<std::string> access;
  auto access_lines = [&] {
    access.clear();
    std::istringstream in(service.log());
    for (std::string line; std::getline(in, line);) {
      if (line.find("\"event\":\"access\"") != std::string::npos)
        access.push_back(line);
    }
    return access.size();
  };
  EXPECT_TRUE(
      Eventually([&] { return access_lines() == statuses.size(); }, 2000))
      << access.size() << " access lines:\n"
      << service.log();

  std::vector<int> logged_statuses;
  for (const std::string& line : access) {
    rapidjson::Document d;
    d.Parse(line.c_str(), line.size());
    ASSERT_FALSE(d.HasParseError()) << line;
    ASSERT_TRUE(d.IsObject()) << line;
    for (const char* field : {"request_id", "method", "route", "status",
                              "duration_ms", "rows", "license_id", "client"}) {
      EXPECT_TRUE(d.HasMember(field)) << field << " missing: " << line;
    }
    if (!d.HasMember("status") || !d["status"].IsInt()) continue;
    logged_statuses.push_back(d["status"].GetInt());
    EXPECT_TRUE(d["request_id"].IsString() &&
                d["request_id"].GetStringLength() > 0)
        << line;
    EXPECT_STREQ(d["method"].GetString(), "GET");
    EXPECT_STREQ(d["route"].GetString(), "/query/status");
    EXPECT_TRUE(d["duration_ms"].IsNumber() &&
                d["duration_ms"].GetDouble() >= 0)
        << line;
    EXPECT_STREQ(d["client"].GetString(), "127.0.0.1");
    int status = d["status"].GetInt();
    if (status == 200) {
      EXPECT_EQ(d["rows"].GetInt(), 2) << line;
      EXPECT_EQ(std::to_string(d["license_id"].GetInt64()), license_) << line;
    } else {
      EXPECT_EQ(d["rows"].GetInt(), 0) << line;
    }
    if (status == 401 || status == 400) {
      EXPECT_TRUE(d["license_id"].IsNull()) << line;
    }
  }
  EXPECT_EQ(logged_statuses, statuses);

  // No token, nor any 16-character piece of one, anywhere in the output.
  std::string log = service.log();
  for (const std::string& token : {token_, small_token_}) {
    ASSERT_GE(token.size(), 16u);
    for (size_t i = 0; i + 16 <= token.size(); ++i) {
      std::string piece = token.substr(i, 16);
      EXPECT_EQ(log.find(piece), std::string::npos)
          << "token piece " << piece << " logged";
    }
  }
  EXPECT_EQ(log.find("qsk_not_a_real_key"), std::string::npos);
}

}  // namespace
}  // namespace qs::testing
