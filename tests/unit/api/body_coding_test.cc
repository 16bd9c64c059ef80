// The 200 body in the client's coding: what a client decodes is exactly
// the identity body, small bodies go as is, and a snapshot's tail is
// compressed once per coding however often (and from however many threads)
// it is served.
#include "api/body_coding.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/content_decoders.h"

namespace qs::api {
namespace {

using qs::testing::Gunzip;
using qs::testing::Unzstd;

std::string Rows(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i) s += ',';
    s += "{\"row\":" + std::to_string(i) + ",\"date\":\"2026-11-0" +
         std::to_string(1 + i % 9) +
         "\",\"clicks\":" + std::to_string(i * 7919 % 1000) + "}";
  }
  return s;
}

store::StatusSnapshot Success(std::string rows_json) {
  store::StatusSnapshot s;
  s.status = QueryStatusCode::kSuccess;
  s.queries_ready = s.queries_total = 3;
  s.total_rows = 10000;
  s.rows_json = std::move(rows_json);
  return s;
}

class BodyCodingTest : public ::testing::Test {
 protected:
  StatusView View(const store::StatusSnapshot& s,
                  std::string_view request_id = "3kPq0e6bLrV1yq9XwS2m1A") {
    return StatusView{request_id,      "abc123",        s.status,
                      s.queries_ready, s.queries_total, s.tasks_scheduled,
                      s.tasks_running, s.total_rows,    s.rows_json,
                      &links_};
  }
  static std::string Identity(const StatusView& v) {
    std::string body;
    RenderStatusBody(v, &body);
    return body;
  }
  static std::optional<std::string> Decode(const CodedBody& b) {
    switch (b.coding) {
      case Encoding::kGzip:
        return Gunzip(b.bytes);
      case Encoding::kZstd:
        return Unzstd(b.bytes);
      case Encoding::kIdentity:
        break;
    }
    return b.bytes;
  }

  PageLinks links_{std::nullopt, std::string("/query/status?json=%7B%7D")};
};

TEST_F(BodyCodingTest, EachCodingDecodesToExactlyTheIdentityBody) {
  store::StatusSnapshot s = Success(Rows(2000));
  for (Encoding coding : {Encoding::kGzip, Encoding::kZstd}) {
    CodedBody b = RenderCodedBody(View(s), s, coding);
    EXPECT_EQ(b.coding, coding);
    EXPECT_EQ(Decode(b), Identity(View(s))) << EncodingName(coding);
    EXPECT_EQ(b.identity_size, Identity(View(s)).size());
    EXPECT_LT(b.bytes.size() * 3, b.identity_size);
  }
}

TEST_F(BodyCodingTest, IdentityIsTheRenderedBody) {
  store::StatusSnapshot s = Success(Rows(2000));
  CodedBody b = RenderCodedBody(View(s), s, Encoding::kIdentity);
  EXPECT_EQ(b.coding, Encoding::kIdentity);
  EXPECT_EQ(b.bytes, Identity(View(s)));
  EXPECT_EQ(b.identity_size, b.bytes.size());
  EXPECT_FALSE(b.compressed);
}

TEST_F(BodyCodingTest, ServingTheSameSnapshotAgainDoesNotCompressAgain) {
  store::StatusSnapshot s = Success(Rows(2000));
  for (Encoding coding : {Encoding::kGzip, Encoding::kZstd}) {
    CodedBody first = RenderCodedBody(View(s, "first"), s, coding);
    CodedBody second = RenderCodedBody(View(s, "second"), s, coding);
    EXPECT_TRUE(first.compressed) << EncodingName(coding);
    EXPECT_FALSE(second.compressed) << EncodingName(coding);
    // Each response still carries its own request_id.
    EXPECT_EQ(Decode(first), Identity(View(s, "first")));
    EXPECT_EQ(Decode(second), Identity(View(s, "second")));
  }
  // Both codings are kept side by side: neither pushed the other out.
  EXPECT_FALSE(RenderCodedBody(View(s), s, Encoding::kGzip).compressed);
  EXPECT_FALSE(RenderCodedBody(View(s), s, Encoding::kZstd).compressed);
}

TEST_F(BodyCodingTest, AnotherSnapshotOfTheSamePageIsCompressedAfresh) {
  // A snapshot is one read: a new read (after a change) has its own tails.
  store::StatusSnapshot a = Success(Rows(2000));
  store::StatusSnapshot b = Success(Rows(2001));
  EXPECT_TRUE(RenderCodedBody(View(a), a, Encoding::kGzip).compressed);
  CodedBody from_b = RenderCodedBody(View(b), b, Encoding::kGzip);
  EXPECT_TRUE(from_b.compressed);
  EXPECT_EQ(Decode(from_b), Identity(View(b)));
}

TEST_F(BodyCodingTest, ConcurrentFirstAnswersCompressOnce) {
  store::StatusSnapshot s = Success(Rows(5000));
  std::atomic<int> compressed{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::string id = "req" + std::to_string(t);
      CodedBody b = RenderCodedBody(View(s, id), s, Encoding::kZstd);
      if (b.compressed) ++compressed;
      if (Decode(b) != Identity(View(s, id))) ++wrong;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(compressed.load(), 1);
  EXPECT_EQ(wrong.load(), 0);
}

// A snapshot whose identity body is exactly `size` bytes.
store::StatusSnapshot OfBodySize(size_t size, const StatusView& probe_view) {
  store::StatusSnapshot s = Success("");
  std::string body;
  StatusView v = probe_view;
  v.rows_json = "";
  RenderStatusBody(v, &body);
  // {"p":"xxx"} adds 8 bytes and its x's.
  size_t pad = size - body.size() - 8;
  s.rows_json = "{\"p\":\"" + std::string(pad, 'x') + "\"}";
  return s;
}

TEST_F(BodyCodingTest, BodiesUnder1024BytesGoAsIs) {
  store::StatusSnapshot probe = Success("");
  for (size_t size : {size_t{1023}, size_t{1024}}) {
    store::StatusSnapshot s = OfBodySize(size, View(probe));
    ASSERT_EQ(Identity(View(s)).size(), size);
    for (Encoding coding : {Encoding::kGzip, Encoding::kZstd}) {
      CodedBody b = RenderCodedBody(View(s), s, coding);
      EXPECT_EQ(b.coding, size < 1024 ? Encoding::kIdentity : coding)
          << size << " bytes, " << EncodingName(coding);
      EXPECT_EQ(Decode(b), Identity(View(s)));
      EXPECT_EQ(b.identity_size, size);
      EXPECT_EQ(b.compressed, size >= 1024);
    }
  }
}

TEST_F(BodyCodingTest, AStatusWithoutRowsIsSmallAndGoesAsIs) {
  store::StatusSnapshot s;
  s.status = QueryStatusCode::kRunning;
  CodedBody b = RenderCodedBody(View(s), s, Encoding::kGzip);
  EXPECT_EQ(b.coding, Encoding::kIdentity);
  EXPECT_EQ(b.bytes, Identity(View(s)));
  EXPECT_FALSE(b.compressed);
}

}  // namespace
}  // namespace qs::api
