// HTTP behaviours that depend on what the database holds: which license sees
// a query, when finished results and keys stop being served, page sizes on
// real rows, and the license's queue counts.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/env.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

using Clock = std::chrono::steady_clock;

class VisibilityAndExpiryTest : public DatabaseTest {
 protected:
  VisibilityAndExpiryTest() : DatabaseTest(/*own_redis=*/true) {}

  void Put(const std::string& license, const std::string& schedule_id,
           const std::string& status, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"query",    "put",           "--license",
                                  license,    "--schedule-id", schedule_id,
                                  "--status", status};
    args.insert(args.end(), extra.begin(), extra.end());
    cli_->Ok(args);
  }

  static HttpResponse Get(const Service& service, const std::string& token,
                          const std::string& json) {
    return HttpGet(service.port(), StatusTarget(json),
                   {{"Authorization", "Bearer " + token}});
  }

  static HttpResponse GetId(const Service& service, const std::string& token,
                            const std::string& schedule_id) {
    return Get(service, token, "{\"schedule_id\":\"" + schedule_id + "\"}");
  }

  // The body of a 200, parsed; fails the test if it is not a JSON object.
  static rapidjson::Document Body(const HttpResponse& r) {
    rapidjson::Document d;
    d.Parse(r.body.c_str(), r.body.size());
    EXPECT_FALSE(d.HasParseError()) << r.body.substr(0, 300);
    EXPECT_TRUE(d.IsObject()) << r.body.substr(0, 300);
    return d;
  }
};

TEST_F(VisibilityAndExpiryTest,
       ForeignScheduleIdIsIndistinguishableFromAnUnknownOne) {
  std::string mine = cli_->NewLicense("mine");
  std::string theirs = cli_->NewLicense("theirs");
  std::string token = cli_->NewKey(mine);
  std::string their_token = cli_->NewKey(theirs);
  Put(theirs, "theirs1", "SUCCESS");
  cli_->Ok({"rows", "load", "--schedule-id", "theirs1"}, "{\"secret\":1}\n");
  Service service(env_, db_->url(), redis_->url());

  ASSERT_EQ(GetId(service, their_token, "theirs1").status, 200);
  HttpResponse foreign = GetId(service, token, "theirs1");
  HttpResponse unknown = GetId(service, token, "nosuchid");
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(foreign.body, "{\"error\":\"STATUS_NOT_FOUND\"}");
  EXPECT_EQ(foreign.header("content-type"), "application/json");
  // Everything but the per-request headers is the same.
  auto comparable = [](HttpResponse r) {
    for (const char* varying :
         {"x-request-id", "x-ratelimit-remaining", "ratelimit", "date"}) {
      r.headers.erase(varying);
    }
    return r;
  };
  HttpResponse f = comparable(foreign), u = comparable(unknown);
  EXPECT_EQ(f.status, u.status);
  EXPECT_EQ(f.body, u.body);
  EXPECT_EQ(f.headers, u.headers);
}

TEST_F(VisibilityAndExpiryTest, FinishedQueryIsGoneAfterItsLicenseRetention) {
  std::string short_lived = cli_->Ok(
      {"license", "create", "--name", "short", "--retention-seconds", "60"});
  std::string standard = cli_->NewLicense("standard");  // default: one hour
  std::string token = cli_->NewKey(short_lived);
  std::string standard_token = cli_->NewKey(standard);
  Put(short_lived, "old", "SUCCESS", {"--finished-ago", "120"});
  Put(short_lived, "oldfail", "FAILURE", {"--finished-ago", "120"});
  Put(short_lived, "recent", "SUCCESS", {"--finished-ago", "30"});
  Put(short_lived, "running", "RUNNING");
  Put(standard, "std", "STOPPED", {"--finished-ago", "120"});
  Service service(env_, db_->url(), redis_->url());

  HttpResponse old = GetId(service, token, "old");
  EXPECT_EQ(old.status, 404);
  EXPECT_EQ(old.body, "{\"error\":\"STATUS_NOT_FOUND\"}");
  EXPECT_EQ(GetId(service, token, "oldfail").status, 404);
  HttpResponse recent = GetId(service, token, "recent");
  EXPECT_EQ(recent.status, 200) << recent.body;
  EXPECT_EQ(GetId(service, token, "running").status, 200);
  HttpResponse std_resp = GetId(service, standard_token, "std");
  EXPECT_EQ(std_resp.status, 200) << std_resp.body;
  EXPECT_NE(std_resp.body.find("\"status_code\":\"STOPPED\""),
            std::string::npos);
}

TEST_F(VisibilityAndExpiryTest, RevokedKeyStopsWorkingWithinTheKeyCacheTtl) {
  std::string license = cli_->NewLicense("acme");
  std::string token = cli_->NewKey(license);
  Put(license, "q1", "RUNNING");
  Service service(env_, db_->url(), redis_->url(),
                  {"--key-cache-ttl-ms", "500"});
  ASSERT_EQ(GetId(service, token, "q1").status, 200);

  cli_->Ok({"key", "revoke", "--token", token});
  auto revoked_at = Clock::now();
  HttpResponse last;
  bool refused = Eventually(
      [&] {
        last = GetId(service, token, "q1");
        return last.status == 401;
      },
      2000);
  double seconds =
      std::chrono::duration<double>(Clock::now() - revoked_at).count();
  std::printf("[ revoke ] refused %.2f s after the revoke (cache TTL 0.5 s)\n",
              seconds);
  ASSERT_TRUE(refused) << "still " << last.status << " 2 s after the revoke";
  EXPECT_EQ(last.header("www-authenticate"),
            "Bearer realm=\"querystatus\", error=\"invalid_token\"");
  EXPECT_EQ(last.header("content-type"), "application/problem+json");
  // It stays refused.
  EXPECT_EQ(GetId(service, token, "q1").status, 401);
}

TEST_F(VisibilityAndExpiryTest, ExpiredKeyIsRefused) {
  std::string license = cli_->NewLicense("acme");
  std::string token = cli_->Ok(
      {"key", "create", "--license", license, "--expires-in-seconds", "1"});
  std::string lasting = cli_->NewKey(license);
  Put(license, "q1", "RUNNING");
  Service service(env_, db_->url(), redis_->url());
  HttpResponse last;
  EXPECT_TRUE(Eventually(
      [&] {
        last = GetId(service, token, "q1");
        return last.status == 401;
      },
      5000))
      << "still " << last.status << " 5 s after a 1 s expiry";
  EXPECT_EQ(last.header("www-authenticate"),
            "Bearer realm=\"querystatus\", error=\"invalid_token\"");
  EXPECT_EQ(GetId(service, lasting, "q1").status, 200);
}

TEST_F(VisibilityAndExpiryTest,
       PageWithoutOffsetEndHoldsTenThousandRowsAtMost) {
  std::string license = cli_->NewLicense("acme");
  std::string token = cli_->NewKey(license);
  Put(license, "big", "SUCCESS", {"--ready", "1", "--total", "1"});
  std::string rows;
  for (int i = 0; i < 10001; ++i) rows += "{\"i\":" + std::to_string(i) + "}\n";
  ASSERT_EQ(cli_->Ok({"rows", "load", "--schedule-id", "big"}, rows), "10001");
  Service service(env_, db_->url(), redis_->url());

  HttpResponse r = GetId(service, token, "big");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  rapidjson::Document d = Body(r);
  ASSERT_TRUE(d.HasMember("data") && d["data"].IsArray());
  const auto& data = d["data"];
  ASSERT_EQ(data.Size(), 10000u);
  EXPECT_EQ(data[0]["i"].GetInt(), 0);
  EXPECT_EQ(data[9999]["i"].GetInt(), 9999);
  EXPECT_EQ(d["meta"]["result"]["total_rows"].GetInt64(), 10001);
  EXPECT_TRUE(d["meta"]["paginate"]["prev"].IsNull());
  ASSERT_TRUE(d["meta"]["paginate"]["next"].IsString());

  // The next page holds the one row left.
  HttpResponse next =
      HttpGet(service.port(), d["meta"]["paginate"]["next"].GetString(),
              {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(next.status, 200) << next.body.substr(0, 300);
  rapidjson::Document n = Body(next);
  ASSERT_EQ(n["data"].Size(), 1u);
  EXPECT_EQ(n["data"][0]["i"].GetInt(), 10000);
  EXPECT_TRUE(n["meta"]["paginate"]["next"].IsNull());

  // An explicit range wider than 10000 is cut to 10000 as well.
  HttpResponse wide =
      Get(service, token,
          "{\"schedule_id\":\"big\",\"offset_start\":1,\"offset_end\":20000}");
  ASSERT_EQ(wide.status, 200);
  rapidjson::Document w = Body(wide);
  ASSERT_EQ(w["data"].Size(), 10000u);
  EXPECT_EQ(w["data"][0]["i"].GetInt(), 1);
  EXPECT_EQ(w["data"][9999]["i"].GetInt(), 10000);
}

TEST_F(VisibilityAndExpiryTest, RangeBeyondTheRowsIsAnEmptySuccess) {
  std::string license = cli_->NewLicense("acme");
  std::string token = cli_->NewKey(license);
  Put(license, "small", "SUCCESS");
  cli_->Ok({"rows", "load", "--schedule-id", "small"},
           "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
  Service service(env_, db_->url(), redis_->url());

  HttpResponse beyond = Get(service, token,
                            "{\"schedule_id\":\"small\",\"offset_start\":20000,"
                            "\"offset_end\":20010}");
  ASSERT_EQ(beyond.status, 200) << beyond.body;
  rapidjson::Document d = Body(beyond);
  EXPECT_STREQ(d["meta"]["status_code"].GetString(), "SUCCESS");
  ASSERT_TRUE(d["data"].IsArray());
  EXPECT_EQ(d["data"].Size(), 0u);
  EXPECT_EQ(d["meta"]["result"]["total_rows"].GetInt64(), 3);

  // A range that overlaps the end returns only the rows that exist.
  HttpResponse tail =
      Get(service, token,
          "{\"schedule_id\":\"small\",\"offset_start\":1,\"offset_end\":99}");
  ASSERT_EQ(tail.status, 200);
  rapidjson::Document t = Body(tail);
  ASSERT_EQ(t["data"].Size(), 2u);
  EXPECT_EQ(t["data"][0]["a"].GetInt(), 2);
  EXPECT_EQ(t["data"][1]["a"].GetInt(), 3);
}

TEST_F(VisibilityAndExpiryTest, WorkflowCountsComeFromTheLicenseQueue) {
  std::string license = cli_->NewLicense("acme");
  std::string other = cli_->NewLicense("other");
  std::string token = cli_->NewKey(license);
  Put(license, "q1", "RUNNING", {"--ready", "1", "--total", "3"});
  Put(license, "q2", "QUEUED", {"--ready", "0", "--total", "2"});
  cli_->Ok({"queue", "set", "--license", license, "--scheduled", "4",
            "--running", "2"});
  cli_->Ok({"queue", "set", "--license", other, "--scheduled", "9", "--running",
            "8"});
  Service service(env_, db_->url(), redis_->url());

  auto counts = [&](const std::string& id) {
    HttpResponse r = GetId(service, token, id);
    EXPECT_EQ(r.status, 200) << r.body;
    rapidjson::Document d = Body(r);
    const auto& m = d["meta"];
    return std::to_string(m["workflow"]["tasks_scheduled"].GetInt()) + "/" +
           std::to_string(m["workflow"]["tasks_running"].GetInt()) + " " +
           std::to_string(m["progress"]["queries_ready"].GetInt()) + "/" +
           std::to_string(m["progress"]["queries_total"].GetInt()) + " " +
           m["status_code"].GetString();
  };
  EXPECT_EQ(counts("q1"), "4/2 1/3 RUNNING");
  // The queue is the license's, not the query's.
  EXPECT_EQ(counts("q2"), "4/2 0/2 QUEUED");

  // Changes show on the next polls (through any per-instance cache).
  cli_->Ok({"queue", "set", "--license", license, "--scheduled", "0",
            "--running", "5"});
  Put(license, "q1", "RUNNING", {"--ready", "2", "--total", "3"});
  std::string seen;
  EXPECT_TRUE(Eventually(
      [&] {
        seen = counts("q1");
        return seen == "0/5 2/3 RUNNING";
      },
      2000))
      << seen;
}

}  // namespace
}  // namespace qs::testing
