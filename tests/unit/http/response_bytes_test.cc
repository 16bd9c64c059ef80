#include "http/response_bytes.h"

#include <gtest/gtest.h>

namespace qs::http {
namespace {

TEST(ResponseBytesTest, StatusLineHeadersInOrderLengthAndBody) {
  EXPECT_EQ(SerializeResponse(1, 200, {{"Content-Type", "application/json"},
                                       {"X-Request-Id", "abc"}},
                              "", "{}"),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "X-Request-Id: abc\r\nContent-Length: 2\r\n\r\n{}");
}

TEST(ResponseBytesTest, ConnectionHeaderComesLastBeforeTheLength) {
  EXPECT_EQ(SerializeResponse(1, 503, {{"Retry-After", "1"}}, "close", ""),
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
            "Connection: close\r\nContent-Length: 0\r\n\r\n");
}

TEST(ResponseBytesTest, Http10KeepsItsVersion) {
  EXPECT_EQ(SerializeResponse(0, 404, {}, "keep-alive", "x"),
            "HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\n"
            "Content-Length: 1\r\n\r\nx");
}

TEST(ResponseBytesTest, EveryStatusTheServiceSendsHasItsReasonPhrase) {
  for (int status : {200, 304, 400, 401, 403, 404, 405, 408, 413, 414, 429,
                     431, 500, 503}) {
    EXPECT_FALSE(ReasonPhrase(status).empty()) << status;
  }
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(SerializeResponse(1, 299, {}, "", "").rfind("HTTP/1.1 299 \r\n", 0),
            0u);
}

}  // namespace
}  // namespace qs::http
