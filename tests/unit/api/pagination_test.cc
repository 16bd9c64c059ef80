#include "api/pagination.h"

#include <gtest/gtest.h>

#include <string>

#include "api/request_parser.h"
#include "api/url_codec.h"

namespace qs::api {
namespace {

constexpr char kPrefix[] = "/query/status?json=";

StatusRequest Request(int64_t start, std::optional<int64_t> end,
                      std::optional<std::string> api_key = std::nullopt) {
  StatusRequest r;
  r.schedule_id = "abc123";
  r.api_key = std::move(api_key);
  r.offset_start = start;
  r.offset_end = end;
  return r;
}

std::string Link(int64_t start, int64_t end, std::string_view base = "") {
  return std::string(base) + kPrefix +
         PercentEncode(R"({"schedule_id":"abc123","offset_start":)" +
                       std::to_string(start) +
                       ",\"offset_end\":" + std::to_string(end) + "}");
}

TEST(PaginationTest, MatchesTheContractExample) {
  PageLinks links = BuildPageLinks(Request(0, 99), 250, "");
  EXPECT_EQ(links.prev, std::nullopt);
  EXPECT_EQ(links.next,
            "/query/status?json=%7B%22schedule_id%22%3A%22abc123%22%2C%22"
            "offset_start%22%3A100%2C%22offset_end%22%3A199%7D");
}

TEST(PaginationTest, LinkDecodesToARequestTheParserAccepts) {
  PageLinks links = BuildPageLinks(Request(100, 199), 250, "");
  ASSERT_TRUE(links.next);
  std::string_view link = *links.next;
  ASSERT_EQ(link.substr(0, sizeof kPrefix - 1), kPrefix);
  std::optional<std::string> json =
      PercentDecode(link.substr(sizeof kPrefix - 1), true);
  ASSERT_TRUE(json);
  EXPECT_EQ(*json,
            R"({"schedule_id":"abc123","offset_start":200,"offset_end":299})");
  Result<StatusRequest> parsed = ParseStatusRequest(*json);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value().schedule_id, "abc123");
  EXPECT_EQ(parsed.value().offset_start, 200);
  EXPECT_EQ(parsed.value().offset_end, 299);
}

TEST(PaginationTest, MiddlePageHasBothLinks) {
  PageLinks links = BuildPageLinks(Request(100, 199), 250, "");
  EXPECT_EQ(links.prev, Link(0, 99));
  EXPECT_EQ(links.next, Link(200, 299));
}

TEST(PaginationTest, LastPageHasNoNext) {
  PageLinks links = BuildPageLinks(Request(200, 299), 250, "");
  EXPECT_EQ(links.prev, Link(100, 199));
  EXPECT_EQ(links.next, std::nullopt);
}

TEST(PaginationTest, PageEndingExactlyOnTheLastRowHasNoNext) {
  PageLinks links = BuildPageLinks(Request(0, 99), 100, "");
  EXPECT_EQ(links.next, std::nullopt);
  EXPECT_EQ(BuildPageLinks(Request(0, 99), 101, "").next, Link(100, 199));
}

TEST(PaginationTest, EmptyResultHasNoLinks) {
  PageLinks links = BuildPageLinks(Request(0, 99), 0, "");
  EXPECT_EQ(links.prev, std::nullopt);
  EXPECT_EQ(links.next, std::nullopt);
}

TEST(PaginationTest, PrevIsClampedAtRowZero) {
  PageLinks links = BuildPageLinks(Request(30, 129), 250, "");
  EXPECT_EQ(links.prev, Link(0, 29));
}

TEST(PaginationTest, PageWithoutEndHasTheMaximumSize) {
  PageLinks links = BuildPageLinks(Request(0, std::nullopt), 25000, "");
  EXPECT_EQ(links.prev, std::nullopt);
  EXPECT_EQ(links.next, Link(10000, 19999));
}

TEST(PaginationTest, WideRangeIsCappedToTheMaximumPage) {
  PageLinks links = BuildPageLinks(Request(20000, 900000), 1000000, "");
  EXPECT_EQ(links.prev, Link(10000, 19999));
  EXPECT_EQ(links.next, Link(30000, 39999));
}

TEST(PaginationTest, NextIsClampedAtTheMaximumOffset) {
  PageLinks links = BuildPageLinks(Request(995000, 999999), 2000000, "");
  EXPECT_EQ(links.next, Link(1000000, 1000000));
}

TEST(PaginationTest, NoNextBeyondTheMaximumOffset) {
  PageLinks links = BuildPageLinks(Request(999000, 1000000), 2000000, "");
  EXPECT_EQ(links.next, std::nullopt);
  EXPECT_EQ(links.prev, Link(997999, 998999));
}

TEST(PaginationTest, SingleRowPages) {
  PageLinks links = BuildPageLinks(Request(5, 5), 10, "");
  EXPECT_EQ(links.prev, Link(4, 4));
  EXPECT_EQ(links.next, Link(6, 6));
}

TEST(PaginationTest, PrefixesThePublicBaseUrlWithoutItsTrailingSlashes) {
  PageLinks links =
      BuildPageLinks(Request(100, 199), 250, "https://api.example.com//");
  EXPECT_EQ(links.prev, Link(0, 99, "https://api.example.com"));
  EXPECT_EQ(links.next, Link(200, 299, "https://api.example.com"));
  EXPECT_EQ(BuildPageLinks(Request(0, 99), 250, "https://h/v1").next,
            Link(100, 199, "https://h/v1"));
  EXPECT_EQ(BuildPageLinks(Request(0, 99), 250, "/").next, Link(100, 199));
}

TEST(PaginationTest, NeverIncludesTheApiKey) {
  PageLinks links =
      BuildPageLinks(Request(100, 199, std::string("SeCrEtKeY")), 250, "");
  ASSERT_TRUE(links.prev && links.next);
  EXPECT_EQ(links.prev->find("SeCrEtKeY"), std::string::npos);
  EXPECT_EQ(links.next->find("SeCrEtKeY"), std::string::npos);
  EXPECT_EQ(links.prev->find("api"), std::string::npos);
  EXPECT_EQ(links.next, Link(200, 299));
}

}  // namespace
}  // namespace qs::api
