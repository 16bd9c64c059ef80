// The HTTP edge over real HTTP on an ephemeral port, with the service's I/O
// behind small fakes: status codes, headers and bodies as the contract
// names them.
#include "http/public_server.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "auth/authenticator.h"
#include "common/worker_pool.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_key_store.h"
#include "fakes/fake_query_store.h"
#include "fakes/fake_window_counter.h"
#include "fakes/status_service_rig.h"
#include "ratelimit/hourly_limiter.h"
#include "support/content_decoders.h"
#include "support/http_client.h"

namespace qs::http {
namespace {

using qs::testing::HttpRequest;
using qs::testing::HttpResponse;
using qs::testing::StatusTarget;

// The shape `key create` makes: "qsk_" and 43 base64url characters.
constexpr char kToken[] = "qsk_test_token_for_the_edgexxxxxxxxxxxxxxxxxxxA";

class PublicServerTest : public qs::testing::StatusServiceRig {
 protected:
  PublicServerTest()
      : StatusServiceRig({5, ""}),
        workers_(2, 100),
        server_({{"127.0.0.1", 0}, 1, {}}, service_, workers_, lifecycle_,
                metrics_) {
    store::KeyRecord k;
    k.key_id = 7;
    k.license_id = 3;
    k.key_rate_limit = 2;
    keys_.Add(kToken, k);
    auto s = std::make_shared<store::StatusSnapshot>();
    s->status = QueryStatusCode::kSuccess;
    s->total_rows = 2;
    s->rows_json = R"({"a":1},{"a":2})";
    s->rows_returned = 2;
    queries_.Set(s);
  }

  void SetUp() override { ASSERT_TRUE(server_.Start().ok()); }

  HttpResponse Get(const std::string& json, bool with_key = true) {
    return GetTarget(StatusTarget(json), with_key);
  }
  HttpResponse GetTarget(const std::string& target, bool with_key = true) {
    std::map<std::string, std::string> h;
    if (with_key) h["Authorization"] = std::string("Bearer ") + kToken;
    return HttpRequest(server_.port(), "GET", target, h);
  }

  static void ExpectEveryResponseHeader(const HttpResponse& r) {
    EXPECT_EQ(r.header("access-control-allow-origin"), "*");
    EXPECT_EQ(r.header("cache-control"), "no-store");
    EXPECT_FALSE(r.header("x-request-id").empty());
    EXPECT_NE(
        r.header("access-control-expose-headers").find("X-RateLimit-Remaining"),
        std::string::npos);
  }

  Lifecycle lifecycle_;
  WorkerPool workers_;
  PublicServer server_;
};

TEST_F(PublicServerTest, SuccessPageCarriesRowsLinksAndRateHeaders) {
  auto r = Get(R"({"schedule_id":"q1","offset_start":0,"offset_end":0})");
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectEveryResponseHeader(r);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("x-ratelimit-limit"), "2");
  EXPECT_EQ(r.header("x-ratelimit-remaining"), "1");
  EXPECT_EQ(r.header("ratelimit-policy"), "\"hourly\";q=2;w=3600");
  EXPECT_NE(r.body.find("\"request_id\":\"" + r.header("x-request-id") + "\""),
            std::string::npos);
  EXPECT_NE(r.body.find(R"("data":[{"a":1},{"a":2}])"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"("result":{"total_rows":2})"), std::string::npos);
}

TEST_F(PublicServerTest, AnAcceptedCodingIsNamedInContentEncoding) {
  auto s = std::make_shared<store::StatusSnapshot>();
  s->status = QueryStatusCode::kSuccess;
  s->total_rows = 200;
  for (int i = 0; i < 200; ++i) {
    s->rows_json +=
        std::string(i ? "," : "") + "{\"row\":" + std::to_string(i) + "}";
  }
  queries_.Set(s);
  auto r = HttpRequest(server_.port(), "GET",
                       StatusTarget(R"({"schedule_id":"q1"})"),
                       {{"Authorization", std::string("Bearer ") + kToken},
                        {"Accept-Encoding", "gzip"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-encoding"), "gzip");
  EXPECT_EQ(r.header("vary"), "Accept-Encoding");
  EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
  std::optional<std::string> body = qs::testing::Gunzip(r.body);
  ASSERT_TRUE(body.has_value());
  EXPECT_NE(body->find("\"request_id\":\"" + r.header("x-request-id") + "\""),
            std::string::npos);
  EXPECT_NE(body->find("{\"row\":199}]}"), std::string::npos);
}

TEST_F(PublicServerTest, ASmallBodyHasNoContentEncoding) {
  auto r = HttpRequest(server_.port(), "GET",
                       StatusTarget(R"({"schedule_id":"q1"})"),
                       {{"Authorization", std::string("Bearer ") + kToken},
                        {"Accept-Encoding", "gzip, zstd"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(r.has("content-encoding")) << r.header("content-encoding");
  EXPECT_NE(r.body.find(R"("data":[{"a":1},{"a":2}])"), std::string::npos);
}

TEST_F(PublicServerTest, KeepAliveIsNotRefusedForHttp11) {
  auto r = HttpRequest(
      server_.port(), "GET", StatusTarget(R"({"schedule_id":"q1"})"),
      {{"Authorization", std::string("Bearer ") + kToken}, {"Connection", ""}});
  ASSERT_EQ(r.status, 200);
  // Pistache alone would answer "Connection: Close" and keep the socket.
  EXPECT_FALSE(r.has("connection")) << r.header("connection");
}

TEST_F(PublicServerTest, OverTheLimitIs429WithRetryAfter) {
  Get(R"({"schedule_id":"q1"})");
  Get(R"({"schedule_id":"q1"})");
  auto r = Get(R"({"schedule_id":"q1"})");
  ASSERT_EQ(r.status, 429);
  ExpectEveryResponseHeader(r);
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  EXPECT_EQ(r.header("x-ratelimit-remaining"), "0");
  int retry = std::stoi(r.header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 3600);
}

TEST_F(PublicServerTest, MissingKeyIs401WithABearerChallenge) {
  auto r = Get(R"({"schedule_id":"q1"})", false);
  ASSERT_EQ(r.status, 401);
  ExpectEveryResponseHeader(r);
  EXPECT_EQ(r.header("www-authenticate"), "Bearer realm=\"querystatus\"");
  EXPECT_EQ(r.header("x-ratelimit-limit"), "5");  // the address budget
}

TEST_F(PublicServerTest, UnknownKeyIs401WithInvalidToken) {
  auto r = HttpRequest(server_.port(), "GET",
                       StatusTarget(R"({"schedule_id":"q1"})"),
                       {{"Authorization", "Bearer qsk_someone_elses"}});
  ASSERT_EQ(r.status, 401);
  EXPECT_NE(r.header("www-authenticate").find("error=\"invalid_token\""),
            std::string::npos);
}

TEST_F(PublicServerTest, BadJsonIs400ProblemDetails) {
  auto r = Get(R"({"schedule_id":"q1","offset_start":"5"})");
  ASSERT_EQ(r.status, 400);
  ExpectEveryResponseHeader(r);
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  EXPECT_NE(r.body.find("\"status\":400"), std::string::npos);
}

// The edge reads `json` from the raw query string with api::FindQueryParam,
// by the rules of docs/api.md; these pin them where query parsers differ.
TEST_F(PublicServerTest, FirstOfARepeatedJsonParameterIsUsed) {
  const std::string valid = StatusTarget(R"({"schedule_id":"q1"})");
  auto first_valid = GetTarget(valid + "&json=%7Bnot-json");
  EXPECT_EQ(first_valid.status, 200) << first_valid.body;
  auto first_broken =
      GetTarget("/query/status?json=%7Bnot-json&" + valid.substr(14));
  EXPECT_EQ(first_broken.status, 400) << first_broken.body;
}

TEST_F(PublicServerTest, JsonParameterIsFormDecoded) {
  // '+' is a space and hex escapes may be lower case.
  auto plus = GetTarget("/query/status?json=%7b%22schedule_id%22:+%22q1%22%7d");
  EXPECT_EQ(plus.status, 200) << plus.body;
  // The name is compared once decoded, so an escaped "json" is the parameter.
  auto escaped_name = GetTarget(
      "/query/status?x=1&j%73on=%7B%22schedule_id%22"
      "%3A%22q1%22%7D");
  EXPECT_EQ(escaped_name.status, 200) << escaped_name.body;
  // Missing: another case, no '=', an empty value; and a broken escape.
  for (const char* target :
       {"/query/status?JSON=%7B%22schedule_id%22%3A%22q1%22%7D",
        "/query/status?json", "/query/status?json=&x=1",
        "/query/status?json=%7B%22schedule_id%22%3A%22q1%22%7"}) {
    auto r = GetTarget(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << target;
  }
}

TEST_F(PublicServerTest, UnknownQueryIs404StatusNotFound) {
  auto r = Get(R"({"schedule_id":"nope"})");
  ASSERT_EQ(r.status, 404);
  ExpectEveryResponseHeader(r);
  EXPECT_EQ(r.body, R"({"error":"STATUS_NOT_FOUND"})");
  EXPECT_FALSE(r.header("x-ratelimit-remaining").empty());
}

TEST_F(PublicServerTest, DatabaseFailureIs500WithoutInternalsOrRateHeaders) {
  queries_.FailWith(Error::Unavailable("db down: secret internal text"));
  auto r = Get(R"({"schedule_id":"q1"})");
  ASSERT_EQ(r.status, 500);
  EXPECT_EQ(r.header("access-control-allow-origin"), "*");
  EXPECT_FALSE(r.has("x-ratelimit-limit"));
  EXPECT_EQ(r.body.find("secret"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("db down"), std::string::npos) << r.body;
}

TEST_F(PublicServerTest, OptionsIsACorsPreflight) {
  auto r = HttpRequest(server_.port(), "OPTIONS", "/query/status");
  ASSERT_EQ(r.status, 204);
  EXPECT_NE(r.header("access-control-allow-methods").find("GET"),
            std::string::npos);
  EXPECT_NE(r.header("access-control-allow-headers").find("Authorization"),
            std::string::npos);
}

TEST_F(PublicServerTest, OtherMethodsAre405WithAllow) {
  auto r = HttpRequest(server_.port(), "DELETE", "/query/status");
  ASSERT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET, OPTIONS");
  ExpectEveryResponseHeader(r);
}

TEST_F(PublicServerTest, UnknownPathIs404ProblemDetails) {
  auto r = HttpRequest(server_.port(), "GET", "/nope");
  ASSERT_EQ(r.status, 404);
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
}

TEST_F(PublicServerTest, ShuttingDownRefusesNewRequestsWith503) {
  lifecycle_.BeginDrain();
  auto draining = Get(R"({"schedule_id":"q1"})");
  EXPECT_EQ(draining.status, 200);  // still served while the balancer notices
  EXPECT_EQ(draining.header("connection"), "close");
  lifecycle_.StopAccepting();
  auto closed = Get(R"({"schedule_id":"q1"})");
  EXPECT_EQ(closed.status, 503);
  EXPECT_EQ(closed.header("retry-after"), "1");
}

}  // namespace
}  // namespace qs::http
