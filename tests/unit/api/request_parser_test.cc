#include "api/request_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace qs::api {
namespace {

using std::string_literals::operator""s;

// Parses `json`, expects an InvalidArgument whose detail is `detail`, and
// checks the detail against the problem-details pattern.
void ExpectRejected(const std::string& json, const std::string& detail) {
  SCOPED_TRACE(json.substr(0, 200));
  Result<StatusRequest> r = ParseStatusRequest(json);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().detail, detail);
  EXPECT_TRUE(IsValidDetail(r.error().detail)) << r.error().detail;
}

StatusRequest ExpectAccepted(const std::string& json) {
  SCOPED_TRACE(json.substr(0, 200));
  Result<StatusRequest> r = ParseStatusRequest(json);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().detail);
  return r.ok() ? r.value() : StatusRequest{};
}

constexpr char kNotJson[] = "json parameter is not valid JSON";
constexpr char kNotObject[] = "json parameter must be a JSON object";
constexpr char kUnknown[] = "unknown field in json parameter";
constexpr char kDuplicate[] = "duplicate field in json parameter";
constexpr char kStartNotInteger[] = "offset start must be an integer";
constexpr char kEndNotInteger[] = "offset end must be an integer";
constexpr char kStartRange[] = "offset start must be between 0 and 1000000";
constexpr char kEndRange[] = "offset end must be between 0 and 1000000";

TEST(RequestParserTest, AcceptsScheduleIdAlone) {
  StatusRequest r = ExpectAccepted(R"({"schedule_id":"abc123"})");
  EXPECT_EQ(r.schedule_id, "abc123");
  EXPECT_EQ(r.api_key, std::nullopt);
  EXPECT_EQ(r.offset_start, 0);
  EXPECT_EQ(r.offset_end, std::nullopt);
}

TEST(RequestParserTest, AcceptsAllFieldsInAnyOrderWithWhitespace) {
  StatusRequest r = ExpectAccepted(
      " \t\r\n{ \"offset_end\" : 99 ,\n \"api_key\":\"K_ey-9\", "
      "\"offset_start\":0, \"schedule_id\" :\"a-b_C\" } \n");
  EXPECT_EQ(r.schedule_id, "a-b_C");
  EXPECT_EQ(r.api_key, "K_ey-9");
  EXPECT_EQ(r.offset_start, 0);
  EXPECT_EQ(r.offset_end, 99);
}

TEST(RequestParserTest, AcceptsBoundaryOffsets) {
  StatusRequest r = ExpectAccepted(
      R"({"schedule_id":"a","offset_start":1000000,"offset_end":1000000})");
  EXPECT_EQ(r.offset_start, 1000000);
  EXPECT_EQ(r.offset_end, 1000000);
}

TEST(RequestParserTest, AcceptsEqualOffsets) {
  StatusRequest r =
      ExpectAccepted(R"({"schedule_id":"a","offset_start":7,"offset_end":7})");
  EXPECT_EQ(r.offset_start, 7);
  EXPECT_EQ(r.offset_end, 7);
}

TEST(RequestParserTest, AcceptsNegativeZeroAsZero) {
  StatusRequest r = ExpectAccepted(
      R"({"schedule_id":"a","offset_start":-0,"offset_end":-0})");
  EXPECT_EQ(r.offset_start, 0);
  EXPECT_EQ(r.offset_end, 0);
}

TEST(RequestParserTest, AcceptsScheduleIdOfFiftyChars) {
  std::string id(50, 'z');
  EXPECT_EQ(ExpectAccepted(R"({"schedule_id":")" + id + "\"}").schedule_id, id);
}

TEST(RequestParserTest, AcceptsApiKeyOf255Chars) {
  std::string key(255, 'k');
  EXPECT_EQ(
      ExpectAccepted(R"({"schedule_id":"a","api_key":")" + key + "\"}").api_key,
      key);
}

TEST(RequestParserTest, AcceptsKeyWrittenWithUnicodeEscape) {
  StatusRequest r = ExpectAccepted(R"({"sch\u0065dule_id":"abc"})");
  EXPECT_EQ(r.schedule_id, "abc");
}

TEST(RequestParserTest, AcceptsValueWrittenWithUnicodeEscape) {
  EXPECT_EQ(ExpectAccepted(R"({"schedule_id":"a\u0062c"})").schedule_id, "abc");
}

TEST(RequestParserTest, RejectsEmptyInput) {
  ExpectRejected("", "json parameter is empty");
}

TEST(RequestParserTest, RejectsWhitespaceOnly) {
  ExpectRejected("  ", kNotJson);
}

TEST(RequestParserTest, RejectsInputOverTheSizeLimit) {
  std::string json = R"({"schedule_id":"a"})";
  json.append(kMaxJsonParamBytes + 1 - json.size(), ' ');
  ExpectRejected(json, "json parameter is longer than 4096 bytes");
}

TEST(RequestParserTest, AcceptsInputAtTheSizeLimit) {
  std::string json = R"({"schedule_id":"a"})";
  json.append(kMaxJsonParamBytes - json.size(), ' ');
  EXPECT_EQ(ExpectAccepted(json).schedule_id, "a");
}

TEST(RequestParserTest, RejectsInvalidJson) {
  ExpectRejected("{", kNotJson);
  ExpectRejected(R"({"schedule_id":"a")", kNotJson);
  ExpectRejected(R"({"schedule_id":"a",})", kNotJson);
  ExpectRejected(R"({'schedule_id':'a'})", kNotJson);
  ExpectRejected(R"({schedule_id:"a"})", kNotJson);
  ExpectRejected(R"({"schedule_id":"a" /* c */})", kNotJson);
  ExpectRejected(R"({"schedule_id":"a","offset_start":01})", kNotJson);
  ExpectRejected(R"({"schedule_id":"a","offset_start":+1})", kNotJson);
  ExpectRejected(R"({"schedule_id":"a","offset_start":NaN})", kNotJson);
  ExpectRejected(R"({"schedule_id":"a","offset_start":Infinity})", kNotJson);
  ExpectRejected(R"({"schedule_id":"a","offset_start":0x10})", kNotJson);
}

TEST(RequestParserTest, RejectsTrailingGarbage) {
  ExpectRejected(R"({"schedule_id":"a"} x)", kNotJson);
  ExpectRejected(R"({"schedule_id":"a"}{})", kNotJson);
  ExpectRejected(R"({"schedule_id":"a"},)", kNotJson);
}

TEST(RequestParserTest, RejectsRawNulByteAnywhere) {
  ExpectRejected("{\"schedule_id\":\"a\"}\0garbage"s, kNotJson);
  ExpectRejected("{\"schedule_id\":\"a\0b\"}"s, kNotJson);
  ExpectRejected("\0{\"schedule_id\":\"a\"}"s, kNotJson);
}

TEST(RequestParserTest, RejectsNonObjectRoots) {
  ExpectRejected("[]", kNotObject);
  ExpectRejected(R"(["schedule_id","a"])", kNotObject);
  ExpectRejected(R"("abc")", kNotObject);
  ExpectRejected("5", kNotObject);
  ExpectRejected("true", kNotObject);
  ExpectRejected("null", kNotObject);
}

TEST(RequestParserTest, RejectsDeepNestingWithoutExhaustingTheStack) {
  ExpectRejected(std::string(100000, '['),
                 "json parameter is longer than 4096 bytes");
  ExpectRejected(std::string(4096, '['), kNotObject);
  ExpectRejected(std::string(4000, '[') + std::string(4000, ']'),
                 "json parameter is longer than 4096 bytes");
  ExpectRejected(R"({"schedule_id":)" + std::string(4000, '['),
                 "schedule id must be a string");
  ExpectRejected(
      R"({"schedule_id":"a","offset_start":)" + std::string(2000, '{'),
      kStartNotInteger);
}

TEST(RequestParserTest, RejectsNestedValues) {
  ExpectRejected(R"({"schedule_id":{"a":1}})", "schedule id must be a string");
  ExpectRejected(R"({"schedule_id":["a"]})", "schedule id must be a string");
  ExpectRejected(R"({"schedule_id":"a","api_key":[]})",
                 "api key must be a string");
  ExpectRejected(R"({"schedule_id":"a","offset_end":{}})", kEndNotInteger);
}

TEST(RequestParserTest, RejectsUnknownField) {
  ExpectRejected(R"({"schedule_id":"a","limit":5})", kUnknown);
  ExpectRejected(R"({"Schedule_id":"a"})", kUnknown);
  ExpectRejected(R"({"schedule_id ":"a"})", kUnknown);
  ExpectRejected(R"({"":"a"})", kUnknown);
}

TEST(RequestParserTest, RejectsUnknownFieldEvenWhenScheduleIdIsMissing) {
  ExpectRejected(R"({"id":"a"})", kUnknown);
}

TEST(RequestParserTest, RejectsKeyWithEmbeddedNul) {
  ExpectRejected(R"({"schedule_id\u0000":"a"})", kUnknown);
  ExpectRejected(R"({"schedule\u0000_id":"a"})", kUnknown);
  ExpectRejected(R"({"\u0000schedule_id":"a"})", kUnknown);
}

TEST(RequestParserTest, RejectsDuplicateField) {
  ExpectRejected(R"({"schedule_id":"a","schedule_id":"a"})", kDuplicate);
  ExpectRejected(R"({"schedule_id":"a","offset_start":1,"offset_start":1})",
                 kDuplicate);
  ExpectRejected(R"({"schedule_id":"a","api_key":"k","api_key":"j"})",
                 kDuplicate);
  ExpectRejected(R"({"schedule_id":"a","offset_end":1,"offset_end":2})",
                 kDuplicate);
}

TEST(RequestParserTest, RejectsDuplicateFieldSpelledWithEscapes) {
  ExpectRejected(R"({"schedule_id":"a","schedule\u005fid":"b"})", kDuplicate);
  ExpectRejected(R"({"\u0073chedule_id":"a","schedule_id":"b"})", kDuplicate);
}

TEST(RequestParserTest, RejectsMissingScheduleId) {
  ExpectRejected("{}", "schedule id is required");
  ExpectRejected(R"({"offset_start":0,"api_key":"k"})",
                 "schedule id is required");
}

TEST(RequestParserTest, RejectsScheduleIdOfWrongType) {
  for (const char* value : {"5", "null", "true", "false", "1.5", "[]", "{}"}) {
    ExpectRejected(std::string(R"({"schedule_id":)") + value + "}",
                   "schedule id must be a string");
  }
}

TEST(RequestParserTest, RejectsScheduleIdOfWrongLength) {
  ExpectRejected(R"({"schedule_id":""})",
                 "schedule id must be 1 to 50 characters long");
  ExpectRejected(R"({"schedule_id":")" + std::string(51, 'a') + "\"}",
                 "schedule id must be 1 to 50 characters long");
}

TEST(RequestParserTest, RejectsScheduleIdWithForbiddenCharacters) {
  const char* kBad =
      "schedule id may contain only letters, digits, underscores and hyphens";
  for (const char* id : {"a b", "a.b", "a/b", "a%20", "a\\\"b", "\\u00e9",
                         "caf\xc3\xa9", "a\\u0000", "a\\nb", "a+b"}) {
    ExpectRejected(std::string(R"({"schedule_id":")") + id + "\"}", kBad);
  }
}

TEST(RequestParserTest, RejectsInvalidUtf8InStrings) {
  ExpectRejected("{\"schedule_id\":\"a\xff\"}", kNotJson);
  ExpectRejected("{\"schedule_id\":\"a\xc3\"}", kNotJson);
  ExpectRejected("{\"sched\xc0\xafule_id\":\"a\"}", kNotJson);
  ExpectRejected("{\"schedule_id\":\"a\"}\xff", kNotJson);
}

TEST(RequestParserTest, RejectsLoneSurrogateEscape) {
  ExpectRejected(R"({"schedule_id":"\ud800"})", kNotJson);
}

TEST(RequestParserTest, RejectsApiKeyOfWrongTypeLengthOrCharacters) {
  ExpectRejected(R"({"schedule_id":"a","api_key":null})",
                 "api key must be a string");
  ExpectRejected(R"({"schedule_id":"a","api_key":12345})",
                 "api key must be a string");
  ExpectRejected(R"({"schedule_id":"a","api_key":""})",
                 "api key must be 1 to 255 characters long");
  ExpectRejected(
      R"({"schedule_id":"a","api_key":")" + std::string(256, 'k') + "\"}",
      "api key must be 1 to 255 characters long");
  ExpectRejected(R"({"schedule_id":"a","api_key":"Bearer abc"})",
                 "api key may contain only letters, digits, underscores and "
                 "hyphens");
}

TEST(RequestParserTest, RejectsIntegerWrittenAsString) {
  ExpectRejected(R"({"schedule_id":"a","offset_start":"5"})", kStartNotInteger);
  ExpectRejected(R"({"schedule_id":"a","offset_end":"5"})", kEndNotInteger);
}

TEST(RequestParserTest, RejectsIntegerWrittenAsFloat) {
  for (const char* literal :
       {"5.0", "5e0", "5E0", "5e+0", "50e-1", "0.0", "1.5", "-0.0", "0e0"}) {
    ExpectRejected(
        std::string(R"({"schedule_id":"a","offset_start":)") + literal + "}",
        kStartNotInteger);
    ExpectRejected(
        std::string(R"({"schedule_id":"a","offset_end":)") + literal + "}",
        kEndNotInteger);
  }
}

TEST(RequestParserTest, RejectsBooleanAndNullOffsets) {
  ExpectRejected(R"({"schedule_id":"a","offset_start":true})",
                 kStartNotInteger);
  ExpectRejected(R"({"schedule_id":"a","offset_start":false})",
                 kStartNotInteger);
  ExpectRejected(R"({"schedule_id":"a","offset_end":null})", kEndNotInteger);
}

TEST(RequestParserTest, RejectsOffsetsOutOfRange) {
  ExpectRejected(R"({"schedule_id":"a","offset_start":-1})", kStartRange);
  ExpectRejected(R"({"schedule_id":"a","offset_start":1000001})", kStartRange);
  ExpectRejected(R"({"schedule_id":"a","offset_end":-1})", kEndRange);
  ExpectRejected(R"({"schedule_id":"a","offset_end":1000001})", kEndRange);
  ExpectRejected(R"({"schedule_id":"a","offset_end":10000000})", kEndRange);
}

TEST(RequestParserTest, RejectsHugeIntegersWithoutOverflow) {
  for (const std::string& literal :
       {"2147483648"s, "4294967296"s, "9223372036854775807"s,
        "9223372036854775808"s, "18446744073709551615"s,
        "18446744073709551616"s, "99999999999999999999"s,
        "-9223372036854775809"s, std::string(400, '9'),
        "-" + std::string(400, '9')}) {
    ExpectRejected(R"({"schedule_id":"a","offset_start":)" + literal + "}",
                   kStartRange);
    ExpectRejected(R"({"schedule_id":"a","offset_end":)" + literal + "}",
                   kEndRange);
  }
}

TEST(RequestParserTest, RejectsHugeFloatsAsNonIntegers) {
  for (const char* literal :
       {"1e30", "1e400", "-1e400", "1E+400", "1e-400", "1.0e308"}) {
    ExpectRejected(
        std::string(R"({"schedule_id":"a","offset_start":)") + literal + "}",
        kStartNotInteger);
  }
}

TEST(RequestParserTest, RejectsHugeNumberAsRoot) {
  ExpectRejected(std::string(400, '9'), kNotObject);
  ExpectRejected("1e400", kNotObject);
}

TEST(RequestParserTest, RejectsHugeNumberAsScheduleId) {
  ExpectRejected(R"({"schedule_id":)" + std::string(400, '9') + "}",
                 "schedule id must be a string");
}

TEST(RequestParserTest, RejectsEndBeforeStart) {
  ExpectRejected(R"({"schedule_id":"a","offset_start":10,"offset_end":9})",
                 "offset end must be greater than or equal to offset start");
  ExpectRejected(R"({"offset_end":0,"offset_start":1,"schedule_id":"a"})",
                 "offset end must be greater than or equal to offset start");
}

TEST(RequestParserTest, AcceptsStartBeyondDefaultEndWhenEndIsAbsent) {
  EXPECT_EQ(
      ExpectAccepted(R"({"schedule_id":"a","offset_start":500})").offset_start,
      500);
}

TEST(RequestParserTest, NeverEchoesInputInDetails) {
  const std::string marker = "ZZsecretZZ";
  for (const char* json :
       {R"({"ZZsecretZZ":1})", R"({"schedule_id":"a","api_key":"ZZsecretZZ.")",
        R"({"schedule_id":"ZZsecretZZ!"})", R"(ZZsecretZZ)"}) {
    Result<StatusRequest> r = ParseStatusRequest(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.error().detail.find(marker), std::string::npos);
    EXPECT_TRUE(IsValidDetail(r.error().detail)) << r.error().detail;
  }
}

TEST(RequestParserTest, IsValidDetailFollowsTheProblemDetailsPattern) {
  EXPECT_TRUE(IsValidDetail("offset end must be between 0 and 1000000"));
  EXPECT_TRUE(IsValidDetail("a, b. c-d\te\nf"));
  EXPECT_TRUE(IsValidDetail(std::string(1000, 'a')));
  EXPECT_FALSE(IsValidDetail(""));
  EXPECT_FALSE(IsValidDetail(std::string(1001, 'a')));
  for (const char* bad : {"offset_end", "a\"b", "a:b", "(a)", "a'b", "a/b",
                          "a;b", "caf\xc3\xa9"}) {
    EXPECT_FALSE(IsValidDetail(bad)) << bad;
  }
}

}  // namespace
}  // namespace qs::api
