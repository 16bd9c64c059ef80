// Response compression against the real binary, PostgreSQL and Redis: a
// 10,000-row page in gzip and zstd decodes (with zlib and libzstd, as
// clients do) to the identity page; a page in the status cache is
// compressed once per coding however often it is served; a committed change
// is served encoded at once (the compressed bytes go with the old page);
// and a page read past the cache is compressed for each response.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "support/content_decoders.h"
#include "support/env.h"
#include "support/fixture.h"

namespace qs::testing {
namespace {

constexpr char kPage[] =
    R"({"schedule_id":"big","offset_start":0,"offset_end":9999})";

// `body` with the value of its meta.request_id taken out: what every answer
// of one state has in common.
std::string WithoutRequestId(std::string body) {
  const std::string key = "\"request_id\":\"";
  size_t at = body.find(key);
  if (at == std::string::npos) return body;
  at += key.size();
  body.erase(at, body.find('"', at) - at);
  return body;
}

class ContentCodingIntegrationTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    std::string license = cli_->NewLicense("coding", 10000);
    token_ = cli_->NewKey(license, 10000);
    cli_->Ok({"query", "put", "--license", license, "--schedule-id", "big",
              "--status", "SUCCESS", "--ready", "1", "--total", "1"});
    cli_->Ok({"rows", "load", "--schedule-id", "big"}, Rows(0, 10000));
  }

  static std::string Rows(int first, int n) {
    std::string rows;
    for (int i = first; i < first + n; ++i) {
      rows += "{\"row\":" + std::to_string(i) + ",\"date\":\"2026-11-" +
              std::to_string(10 + i % 18) +
              "\",\"clicks\":" + std::to_string(i * 7919 % 100000) + "}\n";
    }
    return rows;
  }

  HttpResponse Get(const Service& s, const std::string& accept_encoding) {
    std::map<std::string, std::string> headers{
        {"Authorization", "Bearer " + token_}};
    if (!accept_encoding.empty()) headers["Accept-Encoding"] = accept_encoding;
    return HttpGet(s.port(), StatusTarget(kPage), headers);
  }

  // The identity text of an answer, decoded as its Content-Encoding says.
  static std::string Decoded(const HttpResponse& r) {
    std::optional<std::string> d = r.body;
    std::string coding = r.header("content-encoding");
    if (coding == "gzip") d = Gunzip(r.body);
    if (coding == "zstd") d = Unzstd(r.body);
    EXPECT_TRUE(d.has_value()) << coding << " body does not decode";
    return d.value_or("");
  }

  static double Compressions(const Service& s, const std::string& coding) {
    return s.Metric("querystatus_response_compressions_total{coding=\"" +
                    coding + "\"}");
  }

  std::string token_;
};

TEST_F(ContentCodingIntegrationTest,
       ACachedPageIsCompressedOncePerCodingAndAChangeIsServedAtOnce) {
  Service s(env_, db_->url(), env_.redis_url);
  const std::string hit =
      "querystatus_status_cache_lookups_total{result=\"hit\"";
  // The page is cached (the change feed is live and has answered from it).
  std::string identity;
  ASSERT_TRUE(Eventually(
      [&] {
        HttpResponse r = Get(s, "");
        identity = r.body;
        return r.status == 200 && s.Metric(hit) >= 1;
      },
      5000));
  ASSERT_GT(identity.size(), 400000u);

  for (const std::string coding : {"gzip", "zstd"}) {
    double before = Compressions(s, coding);
    for (int i = 0; i < 5; ++i) {
      HttpResponse r = Get(s, coding);
      ASSERT_EQ(r.status, 200);
      EXPECT_EQ(r.header("content-encoding"), coding);
      EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
      EXPECT_LT(r.body.size() * 4, identity.size()) << coding;
      std::string decoded = Decoded(r);
      EXPECT_EQ(WithoutRequestId(decoded), WithoutRequestId(identity));
      EXPECT_NE(decoded.find("\"request_id\":\"" + r.header("x-request-id")),
                std::string::npos);
    }
    EXPECT_EQ(Compressions(s, coding) - before, 1)
        << coding << ": a cached page was compressed again";
  }

  // A committed change (one more row: total_rows moves) is a new page:
  // served at once, in the coding asked, and compressed once more.
  double before = Compressions(s, "gzip");
  cli_->Ok({"rows", "load", "--schedule-id", "big"}, Rows(10000, 1));
  EXPECT_TRUE(Eventually(
      [&] {
        return Decoded(Get(s, "gzip")).find("\"total_rows\":10001") !=
               std::string::npos;
      },
      1000))
      << "the change was not served encoded within one second";
  EXPECT_GE(Compressions(s, "gzip") - before, 1);
}

TEST_F(ContentCodingIntegrationTest,
       APageReadPastTheCacheIsCompressedEachTime) {
  Service s(env_, db_->url(), env_.redis_url, {"--status-cache-bytes", "0"});
  std::string identity = Get(s, "").body;
  double before = Compressions(s, "zstd");
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = Get(s, "zstd");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-encoding"), "zstd");
    EXPECT_EQ(WithoutRequestId(Decoded(r)), WithoutRequestId(identity));
  }
  EXPECT_EQ(Compressions(s, "zstd") - before, 3);
}

}  // namespace
}  // namespace qs::testing
