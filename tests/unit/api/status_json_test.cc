#include "api/status_json.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

#include "api/request_parser.h"

namespace qs::api {
namespace {

StatusView RunningView() {
  StatusView v{};
  v.request_id = "3kPq0e6bLrV1yq9XwS2m1A";
  v.schedule_id = "abc123";
  v.status = QueryStatusCode::kRunning;
  v.queries_ready = 0;
  v.queries_total = 1;
  v.tasks_scheduled = 0;
  v.tasks_running = 1;
  v.total_rows = 0;
  v.rows_json = "";
  v.links = nullptr;
  return v;
}

rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  EXPECT_FALSE(doc.HasParseError()) << body;
  return doc;
}

TEST(StatusJsonTest, RendersRunningStatusExactly) {
  std::string body;
  RenderStatusBody(RunningView(), &body);
  EXPECT_EQ(body, R"({"meta":{"request_id":"3kPq0e6bLrV1yq9XwS2m1A",)"
                  R"("schedule_id":"abc123","status_code":"RUNNING",)"
                  R"("progress":{"queries_ready":0,"queries_total":1},)"
                  R"("workflow":{"tasks_scheduled":0,"tasks_running":1}},)"
                  R"("data":[]})");
}

TEST(StatusJsonTest, RendersSuccessExactly) {
  PageLinks links{std::nullopt, std::string("/query/status?json=%7B%7D")};
  StatusView v = RunningView();
  v.status = QueryStatusCode::kSuccess;
  v.queries_ready = 3;
  v.queries_total = 3;
  v.tasks_running = 0;
  v.total_rows = 250;
  v.rows_json = R"({"a":1},{"a":2})";
  v.links = &links;
  std::string body;
  RenderStatusBody(v, &body);
  EXPECT_EQ(body,
            R"({"meta":{"request_id":"3kPq0e6bLrV1yq9XwS2m1A",)"
            R"("schedule_id":"abc123","status_code":"SUCCESS",)"
            R"("progress":{"queries_ready":3,"queries_total":3},)"
            R"("workflow":{"tasks_scheduled":0,"tasks_running":0},)"
            R"("result":{"total_rows":250},)"
            R"("paginate":{"prev":null,"next":"/query/status?json=%7B%7D"}},)"
            R"("data":[{"a":1},{"a":2}]})");
}

TEST(StatusJsonTest, SuccessHasResultPaginateAndRows) {
  PageLinks links{std::string("/p"), std::string("/n")};
  StatusView v = RunningView();
  v.status = QueryStatusCode::kSuccess;
  v.total_rows = 1234567890123;
  v.rows_json = R"({"date":"2026-11-01","clicks":12},{"x":[1,{"y":null}]})";
  v.links = &links;
  std::string body;
  RenderStatusBody(v, &body);
  rapidjson::Document doc = Parse(body);
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(doc.MemberCount(), 2u);
  const rapidjson::Value& meta = doc["meta"];
  EXPECT_EQ(meta.MemberCount(), 7u);
  EXPECT_STREQ(meta["status_code"].GetString(), "SUCCESS");
  EXPECT_EQ(meta["result"]["total_rows"].GetInt64(), 1234567890123);
  EXPECT_STREQ(meta["paginate"]["prev"].GetString(), "/p");
  EXPECT_STREQ(meta["paginate"]["next"].GetString(), "/n");
  ASSERT_TRUE(doc["data"].IsArray());
  ASSERT_EQ(doc["data"].Size(), 2u);
  EXPECT_EQ(doc["data"][0]["clicks"].GetInt(), 12);
}

TEST(StatusJsonTest, SuccessWithoutLinksRendersNullLinks) {
  StatusView v = RunningView();
  v.status = QueryStatusCode::kSuccess;
  std::string body;
  RenderStatusBody(v, &body);
  rapidjson::Document doc = Parse(body);
  EXPECT_TRUE(doc["meta"]["paginate"]["prev"].IsNull());
  EXPECT_TRUE(doc["meta"]["paginate"]["next"].IsNull());
  EXPECT_EQ(doc["data"].Size(), 0u);
}

TEST(StatusJsonTest, OtherStatusesOmitResultPaginateAndRows) {
  PageLinks links{std::string("/p"), std::string("/n")};
  for (QueryStatusCode code :
       {QueryStatusCode::kScheduled, QueryStatusCode::kQueued,
        QueryStatusCode::kRunning, QueryStatusCode::kFailure,
        QueryStatusCode::kStopped}) {
    StatusView v = RunningView();
    v.status = code;
    v.rows_json = R"({"a":1})";
    v.links = &links;
    v.total_rows = 5;
    std::string body;
    RenderStatusBody(v, &body);
    rapidjson::Document doc = Parse(body);
    const rapidjson::Value& meta = doc["meta"];
    EXPECT_EQ(std::string(meta["status_code"].GetString()),
              std::string(QueryStatusName(code)));
    EXPECT_FALSE(meta.HasMember("paginate"));
    EXPECT_FALSE(meta.HasMember("result"));
    EXPECT_EQ(meta.MemberCount(), 5u);
    EXPECT_EQ(doc["data"].Size(), 0u);
  }
}

TEST(StatusJsonTest, RendersCountersAsNumbers) {
  StatusView v = RunningView();
  v.queries_ready = 2147483647;
  v.queries_total = 7;
  v.tasks_scheduled = 42;
  v.tasks_running = 3;
  std::string body;
  RenderStatusBody(v, &body);
  rapidjson::Document doc = Parse(body);
  EXPECT_EQ(doc["meta"]["progress"]["queries_ready"].GetInt(), 2147483647);
  EXPECT_EQ(doc["meta"]["progress"]["queries_total"].GetInt(), 7);
  EXPECT_EQ(doc["meta"]["workflow"]["tasks_scheduled"].GetInt(), 42);
  EXPECT_EQ(doc["meta"]["workflow"]["tasks_running"].GetInt(), 3);
}

TEST(StatusJsonTest, EscapesStrings) {
  StatusView v = RunningView();
  const std::string hostile = "a\"b\\c\n\x01</script>";
  v.request_id = hostile;
  v.schedule_id = hostile;
  std::string body;
  RenderStatusBody(v, &body);
  rapidjson::Document doc = Parse(body);
  EXPECT_EQ(std::string(doc["meta"]["request_id"].GetString()), hostile);
  EXPECT_EQ(std::string(doc["meta"]["schedule_id"].GetString()), hostile);
}

TEST(StatusJsonTest, ReplacesPreviousContentOfTheOutput) {
  std::string body = "stale";
  RenderStatusBody(RunningView(), &body);
  EXPECT_EQ(body.rfind("{\"meta\":", 0), 0u);
  Parse(body);
}

TEST(StatusJsonTest, HeadAndTailJoinToTheBodyForEveryStatus) {
  PageLinks links{std::string("/query/status?json=%7B%7D"), std::nullopt};
  for (QueryStatusCode status :
       {QueryStatusCode::kRunning, QueryStatusCode::kSuccess,
        QueryStatusCode::kFailure}) {
    StatusView v = RunningView();
    v.status = status;
    v.rows_json = R"({"a":1})";
    v.links = &links;
    std::string body, head, tail;
    RenderStatusBody(v, &body);
    RenderStatusHead(v.request_id, &head);
    RenderStatusTail(v, &tail);
    EXPECT_EQ(head + tail, body);
    EXPECT_EQ(head, R"({"meta":{"request_id":"3kPq0e6bLrV1yq9XwS2m1A")");
  }
}

TEST(StatusJsonTest, TheTailDoesNotDependOnTheRequestId) {
  StatusView a = RunningView();
  StatusView b = RunningView();
  b.request_id = "another";
  std::string tail_a, tail_b = "previous content";
  RenderStatusTail(a, &tail_a);
  RenderStatusTail(b, &tail_b);
  EXPECT_EQ(tail_a, tail_b);
  EXPECT_EQ(tail_a.find("3kPq0e6bLrV1yq9XwS2m1A"), std::string::npos);
}

TEST(StatusJsonTest, RendersNotFoundBody) {
  EXPECT_EQ(RenderNotFoundBody(), R"({"error":"STATUS_NOT_FOUND"})");
}

TEST(StatusJsonTest, RendersProblemExactly) {
  Problem p{400, "https://example.com/problems/invalid-request",
            "Invalid request", "offset end must be between 0 and 1000000",
            "/query/status"};
  EXPECT_EQ(RenderProblemBody(p),
            R"({"type":"https://example.com/problems/invalid-request",)"
            R"("title":"Invalid request","status":400,)"
            R"("detail":"offset end must be between 0 and 1000000",)"
            R"("instance":"/query/status"})");
}

TEST(StatusJsonTest, ProblemOmitsEmptyInstance) {
  Problem p{429, "about:blank", "Too Many Requests", "hourly limit reached",
            ""};
  std::string body = RenderProblemBody(p);
  rapidjson::Document doc = Parse(body);
  EXPECT_EQ(doc.MemberCount(), 4u);
  EXPECT_FALSE(doc.HasMember("instance"));
  EXPECT_EQ(doc["status"].GetInt(), 429);
  EXPECT_STREQ(doc["title"].GetString(), "Too Many Requests");
  EXPECT_TRUE(IsValidDetail(doc["detail"].GetString()));
}

TEST(StatusJsonTest, ProblemEscapesStrings) {
  Problem p{500, "t\"", "x\\y", "d\n", "/i\x02"};
  rapidjson::Document doc = Parse(RenderProblemBody(p));
  EXPECT_STREQ(doc["type"].GetString(), "t\"");
  EXPECT_STREQ(doc["title"].GetString(), "x\\y");
  EXPECT_STREQ(doc["detail"].GetString(), "d\n");
  EXPECT_STREQ(doc["instance"].GetString(), "/i\x02");
}

}  // namespace
}  // namespace qs::api
