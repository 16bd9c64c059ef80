#include "api/url_codec.h"

#include <gtest/gtest.h>

#include <string>

namespace qs::api {
namespace {

TEST(UrlCodecTest, DecodesEscapesOfEitherHexCase) {
  EXPECT_EQ(PercentDecode("%7B%22a%22%3a1%7d", false), "{\"a\":1}");
}

TEST(UrlCodecTest, DecodesPlusAsSpaceOnlyWhenAsked) {
  EXPECT_EQ(PercentDecode("a+b%2B", true), "a b+");
  EXPECT_EQ(PercentDecode("a+b%2B", false), "a+b+");
}

TEST(UrlCodecTest, PassesPlainTextThrough) {
  EXPECT_EQ(PercentDecode("", false), "");
  EXPECT_EQ(PercentDecode("abc-._~", true), "abc-._~");
}

TEST(UrlCodecTest, RejectsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("%", false), std::nullopt);
  EXPECT_EQ(PercentDecode("abc%", false), std::nullopt);
  EXPECT_EQ(PercentDecode("abc%4", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%4g", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%g4", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%%41", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%+1", true), std::nullopt);
}

TEST(UrlCodecTest, DecodesAnyByteIncludingNulAndHighBytes) {
  std::optional<std::string> decoded = PercentDecode("a%00b%FF", false);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, std::string("a\0b\xff", 4));
}

TEST(UrlCodecTest, EncodesAllButUnreservedInUpperCaseHex) {
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncode("{\"a\": 1}/?&=+%"),
            "%7B%22a%22%3A%201%7D%2F%3F%26%3D%2B%25");
  EXPECT_EQ(PercentEncode(std::string("\0\xff", 2)), "%00%FF");
}

TEST(UrlCodecTest, EncodeThenDecodeRoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(PercentDecode(PercentEncode(all), false), all);
  EXPECT_EQ(PercentDecode(PercentEncode(all), true), all);
}

TEST(UrlCodecTest, FindsParameterAndKeepsItEncoded) {
  bool duplicated = true;
  EXPECT_EQ(FindQueryParam("x=1&json=%7B%7D&y=2", "json", &duplicated),
            "%7B%7D");
  EXPECT_FALSE(duplicated);
}

TEST(UrlCodecTest, ReportsAbsentParameter) {
  bool duplicated = true;
  EXPECT_EQ(FindQueryParam("", "json", &duplicated), std::nullopt);
  EXPECT_FALSE(duplicated);
  EXPECT_EQ(FindQueryParam("jsonx=1&xjson=2&JSON=3", "json", &duplicated),
            std::nullopt);
}

TEST(UrlCodecTest, FindsEmptyAndBareParameters) {
  EXPECT_EQ(FindQueryParam("json=", "json", nullptr), "");
  EXPECT_EQ(FindQueryParam("json", "json", nullptr), "");
  EXPECT_EQ(FindQueryParam("a=1&json&b=2", "json", nullptr), "");
}

TEST(UrlCodecTest, KeepsEverythingAfterTheFirstEquals) {
  EXPECT_EQ(FindQueryParam("json=a=b", "json", nullptr), "a=b");
}

TEST(UrlCodecTest, SkipsEmptyPairs) {
  EXPECT_EQ(FindQueryParam("&&json=1&", "json", nullptr), "1");
}

TEST(UrlCodecTest, FlagsDuplicateAndReturnsFirstValue) {
  bool duplicated = false;
  EXPECT_EQ(FindQueryParam("json=1&json=2", "json", &duplicated), "1");
  EXPECT_TRUE(duplicated);
}

TEST(UrlCodecTest, ComparesNamesAfterDecoding) {
  bool duplicated = false;
  EXPECT_EQ(FindQueryParam("j%73on=1", "json", &duplicated), "1");
  EXPECT_FALSE(duplicated);
  EXPECT_EQ(FindQueryParam("json=1&%6Aso%6E=2", "json", &duplicated), "1");
  EXPECT_TRUE(duplicated);
  EXPECT_EQ(FindQueryParam("a+b=1", "a b", nullptr), "1");
}

TEST(UrlCodecTest, IgnoresNamesWithMalformedEscapes) {
  bool duplicated = true;
  EXPECT_EQ(FindQueryParam("json%=1&json=2", "json", &duplicated), "2");
  EXPECT_FALSE(duplicated);
}

TEST(UrlCodecTest, DoesNotMatchNameWithEncodedNul) {
  EXPECT_EQ(FindQueryParam("json%00=1", "json", nullptr), std::nullopt);
}

}  // namespace
}  // namespace qs::api
