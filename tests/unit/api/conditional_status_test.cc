// The conditional GET of StatusService (If-None-Match, 304): which tag a
// state gets, when the answer is 304, and what a 304 costs of the budget.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "api/status_service.h"
#include "auth/token.h"
#include "fakes/status_service_rig.h"

namespace qs::api {
namespace {

constexpr int32_t kKeyLimit = 3;

class ConditionalStatusTest : public qs::testing::StatusServiceRig {
 protected:
  ConditionalStatusTest() : StatusServiceRig({5, ""}) {
    AddKey(token_, 7, kKeyLimit);
    queries_.cached = true;  // everything answers inline
    Running(1);
  }

  StatusReply Get(std::optional<std::string> if_none_match = std::nullopt,
                  const std::string& request_id = "req",
                  const std::string& json = R"({"schedule_id":"q1"})") {
    StatusCall c;
    c.json_param = json;
    c.authorization = "Bearer " + token_;
    c.client_address = "203.0.113.9";
    c.request_id = request_id;
    c.if_none_match = std::move(if_none_match);
    std::optional<StatusReply> answer;
    service_.HandleAsync(std::move(c), executor_,
                         [&](StatusReply r) { answer = std::move(r); });
    executor_.RunAll();
    EXPECT_TRUE(answer.has_value()) << "no answer";
    return answer ? std::move(*answer) : StatusReply{};
  }

  static ErrorCode Code(const StatusReply& r) {
    return r.error ? r.error->code : ErrorCode::kInternal;
  }

  const std::string token_ = auth::NewToken();
};

TEST_F(ConditionalStatusTest, EveryOkAnswerCarriesAWeakTagOfTheContractsShape) {
  StatusReply r = Get();
  ASSERT_FALSE(r.error);
  ASSERT_GE(r.etag.size(), 5u);
  EXPECT_EQ(r.etag.substr(0, 3), "W/\"");
  EXPECT_EQ(r.etag.back(), '"');
  std::string tag = r.etag.substr(3, r.etag.size() - 4);
  EXPECT_LE(tag.size(), 64u);
  for (char c : tag) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                c == '_')
        << r.etag;
  }
}

TEST_F(ConditionalStatusTest, TheTagLeavesOutTheRequestIdAndFollowsTheState) {
  std::string first = Get(std::nullopt, "id-one").etag;
  EXPECT_EQ(Get(std::nullopt, "id-two").etag, first);
  Running(2);
  EXPECT_NE(Get().etag, first);
}

TEST_F(ConditionalStatusTest, TheTagCoversTheRowsOfThePage) {
  auto page = [&](const char* rows) {
    auto s = std::make_shared<store::StatusSnapshot>();
    s->status = QueryStatusCode::kSuccess;
    s->total_rows = 1;
    s->rows_json = rows;
    s->rows_returned = 1;
    queries_.Set(s);
    return Get().etag;
  };
  EXPECT_NE(page(R"({"a":1})"), page(R"({"a":2})"));
}

TEST_F(ConditionalStatusTest, AMatchingTagIs304AndCostsNothing) {
  StatusReply full = Get();
  ASSERT_FALSE(full.error);
  ASSERT_EQ(full.rate->remaining, kKeyLimit - 1);
  for (int i = 0; i < 5; ++i) {
    StatusReply r = Get(full.etag);
    ASSERT_FALSE(r.error);
    EXPECT_TRUE(r.not_modified);
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(r.etag, full.etag);
    ASSERT_TRUE(r.rate);
    EXPECT_EQ(r.rate->remaining, kKeyLimit - 1) << "a 304 spent budget";
    EXPECT_EQ(r.rate->limit, kKeyLimit);
  }
  // The next counted request still finds the budget the 200 left.
  EXPECT_EQ(Get().rate->remaining, kKeyLimit - 2);
}

TEST_F(ConditionalStatusTest, ListsStarAndStrongFormsMatchByWeakComparison) {
  std::string etag = Get().etag;
  std::string strong = etag.substr(2);  // "..." without W/
  EXPECT_TRUE(Get("*").not_modified);
  EXPECT_TRUE(Get(strong).not_modified);
  EXPECT_TRUE(Get("\"other\", " + etag).not_modified);
  EXPECT_FALSE(Get("\"other\"").not_modified);
}

TEST_F(ConditionalStatusTest, AStaleTagIsAFullAnswerAndIsCounted) {
  std::string old = Get().etag;
  Running(5);
  StatusReply r = Get(old);
  ASSERT_FALSE(r.error);
  EXPECT_FALSE(r.not_modified);
  EXPECT_FALSE(r.body.empty());
  EXPECT_NE(r.etag, old);
  EXPECT_EQ(r.rate->remaining, kKeyLimit - 2);
}

TEST_F(ConditionalStatusTest, ASpentKeyGets429NotA304) {
  std::string etag;
  for (int i = 0; i < kKeyLimit; ++i) etag = Get().etag;  // remaining 0
  StatusReply r = Get(etag);
  EXPECT_FALSE(r.not_modified);
  EXPECT_EQ(Code(r), ErrorCode::kResourceExhausted);
  ASSERT_TRUE(r.rate);
  EXPECT_EQ(r.rate->remaining, 0);
}

TEST_F(ConditionalStatusTest, ValidationAndAuthenticationComeFirst) {
  std::string etag = Get().etag;
  EXPECT_EQ(Code(Get(etag, "req", "{not json")), ErrorCode::kInvalidArgument);
  StatusCall c;
  c.json_param = R"({"schedule_id":"q1"})";
  c.client_address = "203.0.113.9";
  c.if_none_match = "*";
  std::optional<StatusReply> answer;
  service_.HandleAsync(std::move(c), executor_,
                       [&](StatusReply r) { answer = std::move(r); });
  executor_.RunAll();
  ASSERT_TRUE(answer);
  EXPECT_EQ(Code(*answer), ErrorCode::kUnauthenticated);
}

TEST_F(ConditionalStatusTest, AnUnknownQueryStays404AndIsCounted) {
  StatusReply r = Get("*", "req", R"({"schedule_id":"nope"})");
  EXPECT_EQ(Code(r), ErrorCode::kNotFound);
  ASSERT_TRUE(r.rate);
  EXPECT_EQ(r.rate->remaining, kKeyLimit - 1);
}

TEST_F(ConditionalStatusTest, AReadFromTheDatabaseIsDecidedTheSameWay) {
  std::string etag = Get().etag;
  queries_.cached = false;  // the read goes to a worker
  StatusReply r = Get(etag);
  EXPECT_TRUE(r.not_modified);
  EXPECT_EQ(r.etag, etag);
}

}  // namespace
}  // namespace qs::api
