#include "api/conditional.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qs::api {
namespace {

std::vector<std::string> Opaques(const IfNoneMatch& parsed) {
  std::vector<std::string> out;
  for (const EntityTag& tag : parsed.tags) out.push_back(tag.opaque);
  return out;
}

bool Matches(std::string_view header, std::string_view current) {
  return IfNoneMatchMatches(ParseIfNoneMatch(header), current);
}

// --- MakeEtag --------------------------------------------------------------

TEST(MakeEtagTest, IsAWeakTagOf32UrlSafeCharacters) {
  std::string etag = MakeEtag("schedule abc123, version 7");
  ASSERT_EQ(etag.size(), 2 + 1 + 32 + 1);
  EXPECT_EQ(etag.substr(0, 3), "W/\"");
  EXPECT_EQ(etag.back(), '"');
  for (char c : etag.substr(3, 32)) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_';
    EXPECT_TRUE(ok) << "unexpected character " << c << " in " << etag;
  }
}

TEST(MakeEtagTest, IsAFixedFunctionOfTheKey) {
  // Pinned values: the same state must give the same tag on every instance
  // and across releases. SHA-256("") starts e3b0c442 98fc1c14 9afbf4c8 ...
  EXPECT_EQ(MakeEtag(""), "W/\"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NM\"");
  EXPECT_EQ(MakeEtag("abc"), "W/\"ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qc\"");
  EXPECT_EQ(MakeEtag("abc"), MakeEtag(std::string("abc")));
}

TEST(MakeEtagTest, DifferentKeysGiveDifferentTags) {
  EXPECT_NE(MakeEtag("status RUNNING"), MakeEtag("status SUCCESS"));
  EXPECT_NE(MakeEtag("a"), MakeEtag("a "));
  // Bytes a JSON body never holds are still just bytes.
  EXPECT_NE(MakeEtag(std::string("\0a", 2)), MakeEtag(std::string("\0b", 2)));
}

TEST(MakeEtagTest, ATagParsesBackAndMatchesItself) {
  std::string etag = MakeEtag("page 0..99");
  std::optional<EntityTag> tag = ParseEntityTag(etag);
  ASSERT_TRUE(tag);
  EXPECT_TRUE(tag->weak);
  EXPECT_EQ("W/\"" + tag->opaque + "\"", etag);
  EXPECT_TRUE(Matches(etag, etag));
  EXPECT_FALSE(Matches(etag, MakeEtag("page 100..199")));
}

// --- ParseEntityTag --------------------------------------------------------

TEST(ParseEntityTagTest, ReadsStrongAndWeakTags) {
  std::optional<EntityTag> strong = ParseEntityTag("\"xyzzy\"");
  ASSERT_TRUE(strong);
  EXPECT_FALSE(strong->weak);
  EXPECT_EQ(strong->opaque, "xyzzy");
  std::optional<EntityTag> weak = ParseEntityTag("W/\"xyzzy\"");
  ASSERT_TRUE(weak);
  EXPECT_TRUE(weak->weak);
  EXPECT_EQ(weak->opaque, "xyzzy");
  std::optional<EntityTag> empty = ParseEntityTag("\"\"");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->opaque, "");
}

TEST(ParseEntityTagTest, RefusesWhatTheGrammarDoesNot) {
  EXPECT_FALSE(ParseEntityTag(""));
  EXPECT_FALSE(ParseEntityTag("xyzzy"));
  EXPECT_FALSE(ParseEntityTag("\"xyzzy"));
  EXPECT_FALSE(ParseEntityTag("w/\"xyzzy\""));  // W/ is case-sensitive
  EXPECT_FALSE(ParseEntityTag(" \"xyzzy\""));
  EXPECT_FALSE(ParseEntityTag("\"a b\""));
  EXPECT_FALSE(ParseEntityTag("\"a\"b\""));
  EXPECT_FALSE(ParseEntityTag("\"a\tb\""));
  EXPECT_FALSE(ParseEntityTag("W/\""));
}

// --- ParseIfNoneMatch ------------------------------------------------------

TEST(IfNoneMatchTest, IfNoneMatchStarMatchesAnyTag) {
  EXPECT_TRUE(ParseIfNoneMatch("*").any);
  EXPECT_TRUE(ParseIfNoneMatch(" \t* ").any);
  EXPECT_TRUE(Matches("*", MakeEtag("anything")));
  EXPECT_TRUE(Matches("*", "\"strong\""));
}

TEST(IfNoneMatchTest, StarInsideAListIsMalformedAndIgnored) {
  IfNoneMatch parsed = ParseIfNoneMatch("*, \"a\"");
  EXPECT_FALSE(parsed.any);
  EXPECT_EQ(Opaques(parsed), (std::vector<std::string>{"a"}));
  EXPECT_FALSE(Matches("\"a\", *", "\"b\""));
}

TEST(IfNoneMatchTest, ReadsAListWithOwsAndEmptyElements) {
  IfNoneMatch parsed = ParseIfNoneMatch(" ,\"a\" ,\t W/\"b\",,  ,\"c\"\t, ");
  EXPECT_FALSE(parsed.any);
  ASSERT_EQ(Opaques(parsed), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(parsed.tags[0].weak);
  EXPECT_TRUE(parsed.tags[1].weak);
}

TEST(IfNoneMatchTest, ACommaInsideATagBelongsToTheTag) {
  IfNoneMatch parsed = ParseIfNoneMatch("\"a,b\", \"c\"");
  EXPECT_EQ(Opaques(parsed), (std::vector<std::string>{"a,b", "c"}));
  EXPECT_TRUE(Matches("\"a,b\"", "W/\"a,b\""));
  EXPECT_FALSE(Matches("\"a,b\"", "\"a\""));
}

TEST(IfNoneMatchTest, MalformedElementsAreIgnoredAndTheRestIsRead) {
  // Unquoted, lower-case w/, a space inside, junk after the quote, two tags
  // without a comma: each is dropped, the well-formed ones stay.
  EXPECT_EQ(Opaques(ParseIfNoneMatch("xyzzy, \"ok1\"")),
            (std::vector<std::string>{"ok1"}));
  EXPECT_EQ(Opaques(ParseIfNoneMatch("w/\"x\", \"ok2\"")),
            (std::vector<std::string>{"ok2"}));
  EXPECT_EQ(Opaques(ParseIfNoneMatch("\"a b\", \"ok3\"")),
            (std::vector<std::string>{"ok3"}));
  EXPECT_EQ(Opaques(ParseIfNoneMatch("\"a\"junk, \"ok4\"")),
            (std::vector<std::string>{"ok4"}));
  EXPECT_TRUE(Opaques(ParseIfNoneMatch("\"a\" \"b\"")).empty());
  EXPECT_TRUE(Opaques(ParseIfNoneMatch("\"unterminated")).empty());
  EXPECT_TRUE(Opaques(ParseIfNoneMatch("")).empty());
}

TEST(IfNoneMatchTest, AMalformedElementNeverMatches) {
  EXPECT_FALSE(Matches("\"a\"junk", "\"a\""));
  EXPECT_FALSE(Matches("a", "\"a\""));
  EXPECT_FALSE(Matches("\"a", "\"a\""));
  EXPECT_FALSE(Matches("W/ \"a\"", "\"a\""));
}

TEST(IfNoneMatchTest, WeakComparisonIgnoresTheWPrefix) {
  EXPECT_TRUE(Matches("W/\"1\"", "W/\"1\""));
  EXPECT_TRUE(Matches("W/\"1\"", "\"1\""));
  EXPECT_TRUE(Matches("\"1\"", "W/\"1\""));
  EXPECT_TRUE(Matches("\"1\"", "\"1\""));
  EXPECT_FALSE(Matches("W/\"1\"", "W/\"2\""));
}

TEST(IfNoneMatchTest, OpaqueTagsCompareByteForByte) {
  EXPECT_FALSE(Matches("\"abc\"", "\"ABC\""));
  EXPECT_FALSE(Matches("\"abc\"", "\"abc \""));
  EXPECT_FALSE(Matches("\"\"", "\"a\""));
}

TEST(IfNoneMatchTest, AnyTagOfTheListMatches) {
  std::string current = MakeEtag("v2");
  std::string header = MakeEtag("v1") + ", " + current + ", \"other\"";
  EXPECT_TRUE(Matches(header, current));
  EXPECT_FALSE(Matches(MakeEtag("v1") + ", \"other\"", current));
}

TEST(IfNoneMatchTest, AMalformedCurrentTagMatchesOnlyAStar) {
  EXPECT_FALSE(Matches("\"a\"", "a"));
  EXPECT_TRUE(Matches("*", "a"));
}

// --- ParsePreferWait -------------------------------------------------------

TEST(PreferWaitTest, ReadsWholeSeconds) {
  EXPECT_EQ(ParsePreferWait("wait=10"), 10);
  EXPECT_EQ(ParsePreferWait("wait=0"), 0);
  EXPECT_EQ(ParsePreferWait("wait=007"), 7);
  EXPECT_EQ(ParsePreferWait("WAIT=5"), 5);
  EXPECT_EQ(ParsePreferWait("  wait = 5  "), 5);  // BWS around "="
  EXPECT_EQ(ParsePreferWait("wait=\"12\""), 12);
}

TEST(PreferWaitTest, FindsWaitAmongOtherPreferences) {
  EXPECT_EQ(ParsePreferWait("respond-async, wait=30"), 30);
  EXPECT_EQ(ParsePreferWait("return=minimal; foo=\"a,b\", wait=3"), 3);
  EXPECT_EQ(ParsePreferWait(", ,handling=lenient,wait=4,"), 4);
  // `wait` as a parameter of another preference is not the preference.
  EXPECT_EQ(ParsePreferWait("respond-async; wait=10"), std::nullopt);
}

TEST(PreferWaitTest, ParametersAfterWaitAreIgnored) {
  EXPECT_EQ(ParsePreferWait("wait=10; foo=bar;;baz"), 10);
  EXPECT_EQ(ParsePreferWait("wait=10;"), 10);
}

TEST(PreferWaitTest, InvalidWaitIsIgnored) {
  EXPECT_EQ(ParsePreferWait(""), std::nullopt);
  EXPECT_EQ(ParsePreferWait("wait"), std::nullopt);
  EXPECT_EQ(ParsePreferWait("wait="), std::nullopt);
  EXPECT_EQ(ParsePreferWait("wait=\"\""), std::nullopt);
  EXPECT_EQ(ParsePreferWait("wait=-1"), std::nullopt);
  EXPECT_EQ(ParsePreferWait("wait=+1"), std::nullopt);
  EXPECT_EQ(ParsePreferWait("wait=1.5"), std::nullopt);
  EXPECT_EQ(ParsePreferWait("wait=5s"), std::nullopt);
  EXPECT_EQ(ParsePreferWait("wait=\"5 \""), std::nullopt);
  EXPECT_EQ(ParsePreferWait("waiting=5"), std::nullopt);
}

TEST(PreferWaitTest, AMalformedElementIsIgnoredAsAWhole) {
  EXPECT_EQ(ParsePreferWait("wait=5 6"), std::nullopt);
  EXPECT_EQ(ParsePreferWait("wait=5 6, wait=7"), 7);
  EXPECT_EQ(ParsePreferWait("wait=\"5, wait=7"), std::nullopt);
  EXPECT_EQ(ParsePreferWait("@bad, wait=8"), 8);
  EXPECT_EQ(ParsePreferWait("x=\"a\\\"b\", wait=9"), 9);  // quoted-pair
}

TEST(PreferWaitTest, OnlyTheFirstWaitCounts) {
  EXPECT_EQ(ParsePreferWait("wait=5, wait=10"), 5);
  // Even an invalid first instance decides (RFC 7240 2).
  EXPECT_EQ(ParsePreferWait("wait=soon, wait=10"), std::nullopt);
}

TEST(PreferWaitTest, HugeValuesSaturateAtTwoToTheThirtyOne) {
  EXPECT_EQ(ParsePreferWait("wait=2147483647"), 2147483647);
  EXPECT_EQ(ParsePreferWait("wait=2147483648"), kMaxPreferWaitSeconds);
  EXPECT_EQ(ParsePreferWait("wait=99999999999999999999999999"),
            kMaxPreferWaitSeconds);
}

TEST(PreferWaitTest, ClampKeepsTheWaitBetweenOneAndTheMaximum) {
  EXPECT_EQ(ClampWaitSeconds(0, 50), 1);
  EXPECT_EQ(ClampWaitSeconds(1, 50), 1);
  EXPECT_EQ(ClampWaitSeconds(20, 50), 20);
  EXPECT_EQ(ClampWaitSeconds(50, 50), 50);
  EXPECT_EQ(ClampWaitSeconds(51, 50), 50);
  EXPECT_EQ(ClampWaitSeconds(kMaxPreferWaitSeconds, 300), 300);
  EXPECT_EQ(ClampWaitSeconds(-5, 50), 1);
  EXPECT_EQ(ClampWaitSeconds(10, 0), 1);
}

}  // namespace
}  // namespace qs::api
