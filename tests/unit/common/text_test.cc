#include "common/text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qs {
namespace {

std::vector<std::string> Elements(std::string_view list) {
  std::vector<std::string> out;
  ForEachCommaSeparated(list, [&](std::string_view e) { out.emplace_back(e); });
  return out;
}

using Strings = std::vector<std::string>;

TEST(TextTest, CommaSeparatedElementsAreTrimmedAndEmptyOnesKept) {
  EXPECT_EQ(Elements("a, ,b"), (Strings{"a", "", "b"}));
  EXPECT_EQ(Elements(" 10.0.0.0/8 ,\t::1\t"), (Strings{"10.0.0.0/8", "::1"}));
  EXPECT_EQ(Elements("a,"), (Strings{"a", ""}));
  EXPECT_EQ(Elements(""), (Strings{""}));
}

TEST(TextTest, CommaSeparatedSplitsInsideQuotesToo) {
  EXPECT_EQ(Elements("\"a,b\""), (Strings{"\"a", "b\""}));
}

TEST(TextTest, AsciiLowerLowersAsciiLettersOnly) {
  EXPECT_EQ(AsciiLower("Content-Type"), "content-type");
  EXPECT_EQ(AsciiLower("PASSWORD_1"), "password_1");
  EXPECT_EQ(AsciiLower("\xC9t\xC9"), "\xC9t\xC9");
}

TEST(TextTest, TrimBlanksTrimsSpaceAndTabOnly) {
  EXPECT_EQ(TrimBlanks(" \t x y \t "), "x y");
  EXPECT_EQ(TrimBlanks("\nx\r"), "\nx\r");
  EXPECT_EQ(TrimBlanks("  "), "");
}

std::string Encode(std::string_view s) {
  return Base64UrlEncode(reinterpret_cast<const unsigned char*>(s.data()),
                         s.size());
}

TEST(TextTest, Base64UrlEncodeMatchesTheRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Encode(""), "");
  EXPECT_EQ(Encode("f"), "Zg");
  EXPECT_EQ(Encode("fo"), "Zm8");
  EXPECT_EQ(Encode("foo"), "Zm9v");
  EXPECT_EQ(Encode("foob"), "Zm9vYg");
  EXPECT_EQ(Encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Encode("foobar"), "Zm9vYmFy");
}

TEST(TextTest, Base64UrlEncodeUsesTheUrlSafeSymbols) {
  // "+/8" in standard base64.
  EXPECT_EQ(Encode("\xFB\xFF"), "-_8");
}

}  // namespace
}  // namespace qs
