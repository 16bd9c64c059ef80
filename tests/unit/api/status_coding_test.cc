// StatusService and Accept-Encoding: which coding a request's field gets,
// and that a cached page is compressed on its first encoded answer only.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "api/status_service.h"
#include "auth/token.h"
#include "fakes/status_service_rig.h"
#include "support/content_decoders.h"

namespace qs::api {
namespace {

using qs::testing::Gunzip;
using qs::testing::Unzstd;

class StatusCodingTest : public qs::testing::StatusServiceRig {
 protected:
  StatusCodingTest() : StatusServiceRig({5, ""}) {
    AddKey(token_, 7, 1000);
    queries_.cached = true;  // one snapshot, served again and again
    Page(3000);
  }

  // "q1" reads as a SUCCESS page of `rows` rows (about 45 bytes each).
  void Page(int rows) {
    auto s = std::make_shared<store::StatusSnapshot>();
    s->status = QueryStatusCode::kSuccess;
    s->queries_ready = s->queries_total = 1;
    s->total_rows = rows;
    s->rows_returned = rows;
    for (int i = 0; i < rows; ++i) {
      if (i) s->rows_json += ',';
      s->rows_json += "{\"row\":" + std::to_string(i) +
                      ",\"date\":\"2026-11-01\",\"clicks\":7}";
    }
    queries_.Set(s);
  }

  StatusReply Get(std::optional<std::string> accept_encoding,
                  const std::string& request_id = "req") {
    StatusCall c;
    c.json_param = R"({"schedule_id":"q1"})";
    c.authorization = "Bearer " + token_;
    c.client_address = "203.0.113.9";
    c.request_id = request_id;
    c.accept_encoding = std::move(accept_encoding);
    std::optional<StatusReply> answer;
    service_.HandleAsync(std::move(c), executor_,
                         [&](StatusReply r) { answer = std::move(r); });
    executor_.RunAll();  // a large page is rendered on a worker
    EXPECT_TRUE(answer.has_value()) << "no answer";
    EXPECT_FALSE(answer && answer->error) << "not a 200";
    return answer ? std::move(*answer) : StatusReply{};
  }

  static std::string Decoded(const StatusReply& r) {
    std::optional<std::string> d = r.body;
    if (r.coding == Encoding::kGzip) d = Gunzip(r.body);
    if (r.coding == Encoding::kZstd) d = Unzstd(r.body);
    EXPECT_TRUE(d.has_value()) << "does not decode";
    return d.value_or("");
  }

  double Compressions(Encoding coding) {
    return metrics_.ResponseCompressions(coding).Value();
  }

  const std::string token_ = auth::NewToken();
};

TEST_F(StatusCodingTest, TheFieldDecidesTheCoding) {
  EXPECT_EQ(Get(std::nullopt).coding, Encoding::kIdentity);
  EXPECT_EQ(Get("gzip").coding, Encoding::kGzip);
  EXPECT_EQ(Get("zstd").coding, Encoding::kZstd);
  EXPECT_EQ(Get("gzip, zstd").coding, Encoding::kZstd) << "a tie is zstd";
  EXPECT_EQ(Get("gzip;q=1, zstd;q=0.5").coding, Encoding::kGzip);
  EXPECT_EQ(Get("gzip;q=0").coding, Encoding::kIdentity);
  EXPECT_EQ(Get("identity").coding, Encoding::kIdentity);
  EXPECT_EQ(Get("br").coding, Encoding::kIdentity);
  EXPECT_EQ(Get("*").coding, Encoding::kZstd);
}

TEST_F(StatusCodingTest, EveryCodingDecodesToTheIdentityAnswer) {
  std::string identity = Get(std::nullopt, "same-id").body;
  for (const char* field : {"gzip", "zstd"}) {
    StatusReply r = Get(field, "same-id");
    EXPECT_EQ(Decoded(r), identity) << field;
    EXPECT_LT(r.body.size() * 3, identity.size()) << field;
  }
}

TEST_F(StatusCodingTest, ACachedPageIsCompressedOnceAndServedAgainAsIs) {
  StatusReply first = Get("gzip", "first");
  EXPECT_EQ(Compressions(Encoding::kGzip), 1);
  StatusReply second = Get("gzip", "second");
  StatusReply third = Get("x-gzip", "third");
  EXPECT_EQ(Compressions(Encoding::kGzip), 1) << "compressed again";
  // Each answer is its own: the request_id differs, the rest is shared.
  EXPECT_NE(Decoded(first), Decoded(second));
  EXPECT_NE(Decoded(second).find("\"request_id\":\"second\""),
            std::string::npos);
  EXPECT_EQ(Decoded(third).find("\"request_id\":\"second\""),
            std::string::npos);
  // zstd is compressed once of its own, and keeps gzip's.
  Get("zstd");
  Get("zstd");
  EXPECT_EQ(Compressions(Encoding::kZstd), 1);
  EXPECT_EQ(Compressions(Encoding::kGzip), 1);
  // A change is a new snapshot: compressed once more.
  Page(3001);
  Get("gzip");
  Get("gzip");
  EXPECT_EQ(Compressions(Encoding::kGzip), 2);
}

TEST_F(StatusCodingTest, ALargePageAlreadyCompressedIsAnsweredWithoutAWorker) {
  Page(6000);  // about 270 KB of rows: rendered on a worker as is
  auto send = [&](const char* accept) {
    StatusCall c;
    c.json_param = R"({"schedule_id":"q1"})";
    c.authorization = "Bearer " + token_;
    c.client_address = "203.0.113.9";
    c.accept_encoding = accept;
    auto answer = std::make_shared<std::optional<StatusReply>>();
    service_.HandleAsync(std::move(c), executor_,
                         [answer](StatusReply r) { *answer = std::move(r); });
    return answer;
  };
  // The first zstd answer compresses the page: on a worker.
  auto first = send("zstd");
  EXPECT_FALSE(first->has_value());
  EXPECT_EQ(executor_.queued(), 1u);
  executor_.RunAll();
  ASSERT_TRUE(first->has_value());
  // Then the page's zstd tail is kept: the next answers copy its 20-odd KB
  // where they are, with no hand-off.
  for (int i = 0; i < 3; ++i) {
    auto again = send("zstd");
    ASSERT_TRUE(again->has_value()) << "handed to a worker";
    EXPECT_EQ((*again)->coding, Encoding::kZstd);
    EXPECT_EQ(Decoded(**again).size(), Decoded(**first).size());
  }
  EXPECT_EQ(executor_.queued(), 0u);
  // As is, the page still goes to a worker; and gzip, not yet compressed.
  for (const char* accept : {"identity", "gzip"}) {
    auto other = send(accept);
    EXPECT_FALSE(other->has_value()) << accept;
    EXPECT_EQ(executor_.queued(), 1u) << accept;
    executor_.RunAll();
    EXPECT_TRUE(other->has_value()) << accept;
  }
}

TEST_F(StatusCodingTest, ASmallBodyGoesAsIsWhateverIsAccepted) {
  auto s = std::make_shared<store::StatusSnapshot>();
  s->status = QueryStatusCode::kRunning;
  queries_.Set(s);
  StatusReply r = Get("gzip, zstd");
  EXPECT_EQ(r.coding, Encoding::kIdentity);
  EXPECT_EQ(r.body, Get(std::nullopt).body);
  EXPECT_EQ(Compressions(Encoding::kGzip) + Compressions(Encoding::kZstd), 0);
}

TEST_F(StatusCodingTest, BodyBytesAreCountedAsSentAndBeforeTheCoding) {
  StatusReply plain = Get(std::nullopt);
  StatusReply gzip = Get("gzip");
  EXPECT_EQ(metrics_.ResponseBodyBytes(Encoding::kIdentity).Value(),
            plain.body.size());
  EXPECT_EQ(metrics_.ResponseBodyIdentityBytes(Encoding::kIdentity).Value(),
            plain.body.size());
  EXPECT_EQ(metrics_.ResponseBodyBytes(Encoding::kGzip).Value(),
            gzip.body.size());
  EXPECT_EQ(metrics_.ResponseBodyIdentityBytes(Encoding::kGzip).Value(),
            Decoded(gzip).size());
  EXPECT_EQ(metrics_.ResponseBodyBytes(Encoding::kZstd).Value(), 0);
}

}  // namespace
}  // namespace qs::api
