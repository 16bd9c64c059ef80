#include "auth/token.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace qs::auth {
namespace {

bool InAlphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

TEST(TokenTest, NewTokensAreUniqueWellFormedAndPrefixed) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string t = NewToken();
    ASSERT_EQ(t.size(), 47u) << t;
    ASSERT_EQ(t.compare(0, 4, "qsk_"), 0) << t;
    for (char c : t) ASSERT_TRUE(InAlphabet(c)) << t;
    ASSERT_TRUE(LooksLikeToken(t)) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(TokenTest, NewTokensUseTheWholeAlphabet) {
  // 32 random bytes x 1000 tokens: every one of the 64 symbols shows up
  // unless the encoder is broken (the chance otherwise is negligible).
  std::set<char> symbols;
  for (int i = 0; i < 1000; ++i) {
    std::string t = NewToken();
    symbols.insert(t.begin() + 4, t.end());
  }
  EXPECT_EQ(symbols.size(), 64u);
}

TEST(TokenTest, LooksLikeTokenAcceptsTheApiKeyShape) {
  EXPECT_TRUE(LooksLikeToken("a"));
  EXPECT_TRUE(LooksLikeToken("Abc_09-xyz"));
  EXPECT_TRUE(LooksLikeToken(std::string(255, 'k')));
}

TEST(TokenTest, LooksLikeTokenRejectsOtherShapes) {
  EXPECT_FALSE(LooksLikeToken(""));
  EXPECT_FALSE(LooksLikeToken(std::string(256, 'k')));
  EXPECT_FALSE(LooksLikeToken("abc def"));
  EXPECT_FALSE(LooksLikeToken("abc+def"));
  EXPECT_FALSE(LooksLikeToken("abc/def"));
  EXPECT_FALSE(LooksLikeToken("abc="));
  EXPECT_FALSE(LooksLikeToken("abc."));
  EXPECT_FALSE(LooksLikeToken(std::string("ab\0c", 4)));
  EXPECT_FALSE(LooksLikeToken("caf\xc3\xa9"));
}

TEST(TokenTest, IsIssuedTokenAcceptsEveryNewToken) {
  for (int i = 0; i < 1000; ++i) {
    std::string t = NewToken();
    ASSERT_TRUE(IsIssuedToken(t)) << t;
  }
}

TEST(TokenTest, IsIssuedTokenRefusesAnyOtherShape) {
  const std::string body(42, 'a');
  EXPECT_TRUE(IsIssuedToken("qsk_" + body + "A"));
  EXPECT_TRUE(IsIssuedToken("qsk_" + body + "w"));
  EXPECT_FALSE(IsIssuedToken("qsk_" + body + "B"));   // bits past 32 bytes
  EXPECT_FALSE(IsIssuedToken("qsk_" + body));         // one short
  EXPECT_FALSE(IsIssuedToken("qsk_" + body + "AA"));  // one over
  EXPECT_FALSE(IsIssuedToken("qsx_" + body + "A"));
  EXPECT_FALSE(IsIssuedToken("QSK_" + body + "A"));
  EXPECT_FALSE(IsIssuedToken("qsk_" + body + "="));
  EXPECT_FALSE(IsIssuedToken("qsk_" + std::string(41, 'a') + ".A"));
  EXPECT_FALSE(IsIssuedToken(""));
  EXPECT_FALSE(IsIssuedToken("qsk_"));
}

}  // namespace
}  // namespace qs::auth
