#include "http/request_framer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qs::http {
namespace {

using Kind = FrameResult::Kind;

FrameResult Frame(const std::string& bytes) {
  return FrameRequest(bytes, FramerLimits{});
}

TEST(RequestFramerTest, FramesASimpleGetAndItsHeaders) {
  std::string bytes =
      "GET /query/status?json=%7B%7D HTTP/1.1\r\nHost: x\r\n"
      "Authorization:  Bearer abc  \r\nX-Forwarded-For: 1.2.3.4\r\n"
      "x-forwarded-for: 5.6.7.8\r\n\r\n";
  FrameResult r = Frame(bytes);
  ASSERT_EQ(r.kind, Kind::kRequest);
  EXPECT_EQ(r.consumed, bytes.size());
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.path(), "/query/status");
  EXPECT_EQ(r.request.query(), "json=%7B%7D");
  EXPECT_EQ(r.request.Header("authorization"), "Bearer abc");
  EXPECT_EQ(r.request.CombinedHeader("x-forwarded-for"), "1.2.3.4, 5.6.7.8");
  EXPECT_TRUE(r.request.keep_alive);
}

TEST(RequestFramerTest, PipelinedRequestsAreFramedOneAtATime) {
  std::string one = "GET /a HTTP/1.1\r\n\r\n";
  std::string two = "GET /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  std::string three = "GET /c HTTP/1.0\r\n\r\n";
  std::string all = one + two + three;
  FrameResult r = Frame(all);
  ASSERT_EQ(r.kind, Kind::kRequest);
  EXPECT_EQ(r.consumed, one.size());
  r = Frame(all.substr(one.size()));
  ASSERT_EQ(r.kind, Kind::kRequest);
  EXPECT_EQ(r.request.path(), "/b");
  EXPECT_EQ(r.consumed, two.size());
  r = Frame(three);
  ASSERT_EQ(r.kind, Kind::kRequest);
  EXPECT_EQ(r.request.minor_version, 0);
  EXPECT_FALSE(r.request.keep_alive);
}

TEST(RequestFramerTest, EveryPrefixOfAValidRequestNeedsMore) {
  std::string bytes =
      "GET /x HTTP/1.1\r\nHost: y\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;ext=1\r\nabc\r\n0\r\nTrailer: t\r\n\r\n";
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(Frame(bytes.substr(0, n)).kind, Kind::kNeedMore) << n;
  }
  FrameResult r = Frame(bytes);
  ASSERT_EQ(r.kind, Kind::kRequest);
  EXPECT_EQ(r.consumed, bytes.size());
}

TEST(RequestFramerTest, AmbiguousFramingIsRefused) {
  const std::string line = "GET / HTTP/1.1\r\n";
  for (const std::string& bad : std::vector<std::string>{
           line + "Content-Length: -1\r\n\r\n",
           line + "Content-Length: abc\r\n\r\n",
           line + "Content-Length: +5\r\n\r\n",
           line + "Content-Length: 0x10\r\n\r\n",
           line + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
           line + "Content-Length: 5, 6\r\n\r\n",
           line + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
           line + "Transfer-Encoding: gzip, chunked\r\n\r\n",
           line + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
           line + "Transfer-Encoding: chunked\r\n\r\nx\r\n",
           line + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n",
           "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
           line + "Authorization: a\r\nAuthorization: b\r\n\r\n",
           "GET / HTTP/1.1\nHost: x\n\n",
           "GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n",
           line + "X: a\r\n b\r\n\r\n",
           line + "X : a\r\n\r\n",
           line + ": a\r\n\r\n",
           line + "X: a\x01" "b\r\n\r\n",
           "GET  / HTTP/1.1\r\n\r\n",
           "GET / HTTP/2.0\r\n\r\n",
           "GET / http/1.1\r\n\r\n",
           "GET /\x7f HTTP/1.1\r\n\r\n",
           "\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
       }) {
    FrameResult r = Frame(bad);
    EXPECT_EQ(r.kind, Kind::kError) << bad;
    EXPECT_EQ(r.error.status, 400) << bad;
  }
}

TEST(RequestFramerTest, ABadRequestLineIsRefusedBeforeTheHeadEnds) {
  // HTTP/0.9 has no version and no header fields: waiting for the empty
  // line would only end in a timeout.
  FrameResult r = Frame("GET /\r\n");
  ASSERT_EQ(r.kind, Kind::kError);
  EXPECT_EQ(r.error.status, 400);
  EXPECT_EQ(Frame("GET / HTTP/1.1\r\nHost: x\r\n").kind, Kind::kNeedMore);
}

TEST(RequestFramerTest, IdenticalContentLengthCopiesAreOneLength) {
  FrameResult r =
      Frame("GET / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nab");
  ASSERT_EQ(r.kind, Kind::kRequest);
}

TEST(RequestFramerTest, LimitsGiveTheirOwnStatuses) {
  FramerLimits limits;
  EXPECT_EQ(FrameRequest("GET /" + std::string(limits.max_request_line, 'a'),
                         limits)
                .error.status,
            414);
  EXPECT_EQ(FrameRequest("GET / HTTP/1.1\r\nX: " +
                             std::string(limits.max_header_bytes, 'a'),
                         limits)
                .error.status,
            431);
  std::string many = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i <= limits.max_header_fields; ++i) many += "X: y\r\n";
  EXPECT_EQ(FrameRequest(many + "\r\n", limits).error.status, 431);
  EXPECT_EQ(FrameRequest("GET / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n",
                         limits)
                .error.status,
            413);
  EXPECT_EQ(FrameRequest("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "fffffffff\r\n",
                         limits)
                .error.status,
            413);
}

// Found by the fuzz target: trailer fields that fill the limit exactly were
// accepted whole, but the same bytes missing the last LF were refused with
// 431 (an incomplete line was counted as if its CRLF had arrived).
TEST(RequestFramerTest, APrefixOfTrailersAtTheLimitNeedsMore) {
  FramerLimits limits;
  limits.max_header_bytes = 64;
  std::string bytes = "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " +
                      std::string(57, 'v') + "\r\n\r\n";
  ASSERT_EQ(FrameRequest(bytes, limits).kind, Kind::kRequest);
  EXPECT_EQ(FrameRequest(bytes.substr(0, bytes.size() - 1), limits).kind,
            Kind::kNeedMore);
}

TEST(RequestFramerTest, ChunkOverheadIsBounded) {
  std::string bytes = "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 2000; ++i) bytes += "1;" + std::string(100, 'e') + "\r\nx\r\n";
  FrameResult r = Frame(bytes);
  ASSERT_EQ(r.kind, Kind::kError);
  EXPECT_EQ(r.error.status, 413);
}

TEST(RequestFramerTest, ConnectionHeaderDecidesKeepAlive) {
  EXPECT_FALSE(Frame("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n")
                   .request.keep_alive);
  EXPECT_TRUE(Frame("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                  .request.keep_alive);
  EXPECT_TRUE(Frame("GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n")
                  .request.keep_alive);
}

TEST(RequestFramerTest, AbsoluteFormTargetsGiveTheirPathAndQuery) {
  FrameResult r =
      Frame("GET http://example.com/query/status?json=1 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.kind, Kind::kRequest);
  EXPECT_EQ(r.request.path(), "/query/status");
  EXPECT_EQ(r.request.query(), "json=1");
  EXPECT_EQ(Frame("GET http://example.com HTTP/1.1\r\n\r\n").request.path(), "/");
}

TEST(RequestFramerTest, OneOrTwoLeadingEmptyLinesAreSkipped) {
  FrameResult r = Frame("\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.kind, Kind::kRequest);
  EXPECT_EQ(r.consumed, 22u);
}

}  // namespace
}  // namespace qs::http
