#include "common/ascii.h"

#include <gtest/gtest.h>

#include <cctype>
#include <clocale>
#include <string>

namespace qs::ascii {
namespace {

TEST(AsciiTest, ClassesAgreeWithTheCLocaleOnEveryAsciiByte) {
  for (int b = 0; b < 0x80; ++b) {
    const char c = static_cast<char>(b);
    EXPECT_EQ(IsDigit(c), std::isdigit(b) != 0) << b;
    EXPECT_EQ(IsAlpha(c), std::isalpha(b) != 0) << b;
    EXPECT_EQ(IsAlnum(c), std::isalnum(b) != 0) << b;
    EXPECT_EQ(IsHexDigit(c), std::isxdigit(b) != 0) << b;
    EXPECT_EQ(IsSpace(c), std::isspace(b) != 0) << b;
    EXPECT_EQ(ToLower(c), static_cast<char>(std::tolower(b))) << b;
  }
}

TEST(AsciiTest, BytesAboveAsciiAreInNoClassWhateverTheLocale) {
  // A Latin-1 locale, where <cctype> would call 0xE9 (e acute) a letter,
  // when the machine has one; the classes must not care either way.
  std::setlocale(LC_CTYPE, "en_US.ISO-8859-1");
  for (int b = 0x80; b < 0x100; ++b) {
    const char c = static_cast<char>(b);
    EXPECT_FALSE(IsAlnum(c) || IsHexDigit(c) || IsSpace(c) ||
                 IsIdentifierChar(c))
        << b;
    EXPECT_EQ(HexDigitValue(c), -1) << b;
    EXPECT_EQ(ToLower(c), c) << b;
  }
  std::setlocale(LC_CTYPE, "C");
}

TEST(AsciiTest, HexDigitValueReadsEitherCase) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
  EXPECT_EQ(HexDigitValue('%'), -1);
}

TEST(AsciiTest, IdentifierCharsAreTheBase64UrlAlphabet) {
  std::string alphabet = kBase64UrlAlphabet;
  ASSERT_EQ(alphabet.size(), 64u);
  int identifier_chars = 0;
  for (int b = 0; b < 0x100; ++b) {
    const char c = static_cast<char>(b);
    EXPECT_EQ(IsIdentifierChar(c), alphabet.find(c) != std::string::npos) << b;
    identifier_chars += IsIdentifierChar(c);
  }
  EXPECT_EQ(identifier_chars, 64);
}

TEST(AsciiTest, IsIdentifierBoundsTheLengthAndEveryCharacter) {
  EXPECT_TRUE(IsIdentifier("sched_01-a", 50));
  EXPECT_TRUE(IsIdentifier(std::string(50, 'x'), 50));
  EXPECT_FALSE(IsIdentifier(std::string(51, 'x'), 50));
  EXPECT_FALSE(IsIdentifier("", 50));
  EXPECT_FALSE(IsIdentifier("a b", 50));
  EXPECT_FALSE(IsIdentifier("a.b", 50));
  EXPECT_FALSE(IsIdentifier("caf\xC3\xA9", 50));
}

}  // namespace
}  // namespace qs::ascii
