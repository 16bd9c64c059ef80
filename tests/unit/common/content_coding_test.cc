#include "common/content_coding.h"

#include <gtest/gtest.h>
// ZSTD_getFrameHeader and ZSTD_getCParams, to check the frames made.
#define ZSTD_STATIC_LINKING_ONLY
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "support/content_decoders.h"

namespace qs {
namespace {

using qs::testing::Gunzip;
using qs::testing::Unzstd;

std::optional<std::string> Decode(Encoding encoding, std::string_view in) {
  switch (encoding) {
    case Encoding::kGzip:
      return Gunzip(in);
    case Encoding::kZstd:
      return Unzstd(in);
    case Encoding::kIdentity:
      break;
  }
  return std::string(in);
}

std::string Encode(Encoding encoding, std::string_view body, int level = 3) {
  Result<std::string> r = Compress(encoding, body, level);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().internal);
  return r.ok() ? r.value() : std::string();
}

// A result page as the service renders it: 10,000 rows.
std::string JsonPage(int rows) {
  std::string s = "{\"meta\":{\"status_code\":\"SUCCESS\"},\"data\":[";
  std::mt19937 rng(7);
  for (int i = 0; i < rows; ++i) {
    if (i) s += ',';
    s += "{\"date\":\"2026-11-" + std::to_string(1 + i % 28) +
         "\",\"campaign\":\"campaign-" + std::to_string(rng() % 50) +
         "\",\"clicks\":" + std::to_string(rng() % 5000) + "}";
  }
  return s + "]}";
}

std::string RandomBytes(size_t n) {
  std::mt19937 rng(42);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// --- ChooseEncoding --------------------------------------------------------

Encoding Choose(std::string_view header) { return ChooseEncoding(header); }

TEST(ChooseEncodingTest, NoHeaderGivesIdentity) {
  EXPECT_EQ(ChooseEncoding(std::nullopt), Encoding::kIdentity);
}

TEST(ChooseEncodingTest, AnEmptyHeaderGivesIdentity) {
  EXPECT_EQ(Choose(""), Encoding::kIdentity);
  EXPECT_EQ(Choose(" , ,"), Encoding::kIdentity);
}

TEST(ChooseEncodingTest, ACodingNamedAloneIsChosen) {
  EXPECT_EQ(Choose("gzip"), Encoding::kGzip);
  EXPECT_EQ(Choose("zstd"), Encoding::kZstd);
  EXPECT_EQ(Choose("GZip"), Encoding::kGzip);
  EXPECT_EQ(Choose("ZSTD"), Encoding::kZstd);
  EXPECT_EQ(Choose("\t gzip \t"), Encoding::kGzip);
}

TEST(ChooseEncodingTest, XGzipCountsAsGzip) {
  EXPECT_EQ(Choose("x-gzip"), Encoding::kGzip);
  EXPECT_EQ(Choose("X-GZIP;q=0.3"), Encoding::kGzip);
}

TEST(ChooseEncodingTest, UnknownCodingsAloneGiveIdentity) {
  EXPECT_EQ(Choose("br"), Encoding::kIdentity);
  EXPECT_EQ(Choose("deflate, compress"), Encoding::kIdentity);
}

TEST(ChooseEncodingTest, TiePrefersZstd) {
  EXPECT_EQ(Choose("gzip, zstd"), Encoding::kZstd);
  EXPECT_EQ(Choose("gzip;q=0.5, zstd;q=0.5"), Encoding::kZstd);
  EXPECT_EQ(Choose("gzip, deflate, br, zstd"), Encoding::kZstd);
}

TEST(ChooseEncodingTest, TheHigherWeightWins) {
  EXPECT_EQ(Choose("zstd;q=0.5, gzip;q=0.8"), Encoding::kGzip);
  EXPECT_EQ(Choose("zstd;q=0.501, gzip;q=0.5"), Encoding::kZstd);
  EXPECT_EQ(Choose("gzip;q=1, zstd;q=0.999"), Encoding::kGzip);
  EXPECT_EQ(Choose("gzip;q=0.001"), Encoding::kGzip);
}

TEST(ChooseEncodingTest, QZeroRefusesACoding) {
  EXPECT_EQ(Choose("gzip;q=0"), Encoding::kIdentity);
  EXPECT_EQ(Choose("gzip;q=0.000"), Encoding::kIdentity);
  EXPECT_EQ(Choose("zstd;q=0, gzip"), Encoding::kGzip);
  EXPECT_EQ(Choose("gzip;Q=0, zstd;q=0"), Encoding::kIdentity);
  EXPECT_EQ(Choose("gzip ; q=0"), Encoding::kIdentity);
}

TEST(ChooseEncodingTest, ARefusalAnywhereStands) {
  EXPECT_EQ(Choose("gzip, gzip;q=0"), Encoding::kIdentity);
  EXPECT_EQ(Choose("gzip;q=0, gzip"), Encoding::kIdentity);
  EXPECT_EQ(Choose("x-gzip;q=0, gzip"), Encoding::kIdentity);
  EXPECT_EQ(Choose("*, zstd;q=0"), Encoding::kGzip);
}

TEST(ChooseEncodingTest, StarMatchesTheCodingsNotListed) {
  EXPECT_EQ(Choose("*"), Encoding::kZstd);
  EXPECT_EQ(Choose("*;q=0.5, gzip"), Encoding::kGzip);
  EXPECT_EQ(Choose("*;q=0.5, gzip;q=0.4"), Encoding::kZstd);
  EXPECT_EQ(Choose("*;q=0"), Encoding::kIdentity);
  EXPECT_EQ(Choose("*;q=0, gzip"), Encoding::kGzip);
}

TEST(ChooseEncodingTest, IdentityAloneGivesIdentity) {
  EXPECT_EQ(Choose("identity"), Encoding::kIdentity);
  EXPECT_EQ(Choose("identity;q=0.5"), Encoding::kIdentity);
}

TEST(ChooseEncodingTest, IdentityWinsOnlyByAStrictlyHigherWeight) {
  EXPECT_EQ(Choose("identity, gzip;q=0.5"), Encoding::kIdentity);
  EXPECT_EQ(Choose("identity, gzip"), Encoding::kGzip);
  EXPECT_EQ(Choose("identity;q=0.5, zstd;q=0.5"), Encoding::kZstd);
  // A `*` weighs identity too when it is not named.
  EXPECT_EQ(Choose("*, gzip;q=0.5, zstd;q=0.5"), Encoding::kIdentity);
}

TEST(ChooseEncodingTest, RefusedIdentityStillGivesIdentityNotA406) {
  EXPECT_EQ(Choose("identity;q=0"), Encoding::kIdentity);
  EXPECT_EQ(Choose("identity;q=0, br"), Encoding::kIdentity);
  EXPECT_EQ(Choose("*;q=0, identity;q=0"), Encoding::kIdentity);
  EXPECT_EQ(Choose("identity;q=0, gzip;q=0.1"), Encoding::kGzip);
}

TEST(ChooseEncodingTest, AMalformedQIgnoresTheElement) {
  for (const char* header :
       {"gzip;q=2", "gzip;q=1.001", "gzip;q=0.0001", "gzip;q=", "gzip;q=.5",
        "gzip;q=0.5.1", "gzip;q=-0", "gzip;q=0x1", "gzip;q = 0.5",
        "gzip;q=0.5 x", "gzip;level=1", "gzip;", "gzip x", "\"gzip\"",
        "gzip;q=0;q=1"}) {
    EXPECT_EQ(Choose(header), Encoding::kIdentity) << header;
  }
  // Ignored, not refused: the rest of the field still counts.
  EXPECT_EQ(Choose("zstd;q=abc, gzip"), Encoding::kGzip);
  EXPECT_EQ(Choose("*, zstd;q=zero"), Encoding::kZstd);
}

TEST(ChooseEncodingTest, EncodingNamesAreContentEncodingValues) {
  EXPECT_EQ(EncodingName(Encoding::kGzip), "gzip");
  EXPECT_EQ(EncodingName(Encoding::kZstd), "zstd");
  EXPECT_EQ(EncodingName(Encoding::kIdentity), "identity");
}

// --- Compress --------------------------------------------------------------

class CompressTest : public ::testing::TestWithParam<Encoding> {};

TEST_P(CompressTest, RoundTripsEmptySmallAndLargeBodies) {
  for (const std::string& body :
       {std::string(), std::string("{}"), std::string(1, '\0'), JsonPage(100),
        JsonPage(10000), RandomBytes(300000)}) {
    std::string encoded = Encode(GetParam(), body);
    EXPECT_EQ(Decode(GetParam(), encoded), body) << body.size() << " bytes";
  }
}

TEST_P(CompressTest, ShrinksAResultPageSeveralTimes) {
  std::string page = JsonPage(10000);
  std::string encoded = Encode(GetParam(), page);
  EXPECT_LT(encoded.size() * 5, page.size())
      << page.size() << " -> " << encoded.size();
}

TEST_P(CompressTest, TheSameBodyGivesTheSameBytes) {
  std::string page = JsonPage(500);
  EXPECT_EQ(Encode(GetParam(), page, 6), Encode(GetParam(), page, 6));
}

TEST_P(CompressTest, EveryLevelRoundTrips) {
  std::string page = JsonPage(300);
  for (int level = -3; level <= 25; ++level) {
    EXPECT_EQ(Decode(GetParam(), Encode(GetParam(), page, level)), page)
        << "level " << level;
  }
}

TEST_P(CompressTest, ConcatenatedMembersDecodeToTheConcatenation) {
  // A client decodes every member or frame of a body in turn.
  std::string a = JsonPage(20), b = "{\"second\":true}";
  EXPECT_EQ(Decode(GetParam(), Encode(GetParam(), a) + Encode(GetParam(), b)),
            a + b);
  EXPECT_EQ(Decode(GetParam(), Encode(GetParam(), a) + "junk"), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Codings, CompressTest,
                         ::testing::Values(Encoding::kGzip, Encoding::kZstd),
                         [](const auto& info) {
                           return std::string(EncodingName(info.param));
                         });

TEST(CompressIdentityTest, IdentityIsTheBodyAsIs) {
  std::string body = JsonPage(10);
  EXPECT_EQ(Encode(Encoding::kIdentity, body), body);
  EXPECT_EQ(Encode(Encoding::kIdentity, ""), "");
}

TEST(CompressGzipTest, IsOneGzipMemberWithoutATimestamp) {
  std::string encoded = Encode(Encoding::kGzip, JsonPage(10));
  ASSERT_GE(encoded.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(encoded[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(encoded[1]), 0x8b);
  EXPECT_EQ(encoded[2], 8);                               // deflate
  EXPECT_EQ(encoded.substr(4, 4), std::string(4, '\0'));  // MTIME unset
}

TEST(CompressGzipTest, LevelsAreClampedToOneToNine) {
  std::string page = JsonPage(2000);
  EXPECT_EQ(Encode(Encoding::kGzip, page, 0), Encode(Encoding::kGzip, page, 1));
  EXPECT_EQ(Encode(Encoding::kGzip, page, -1),
            Encode(Encoding::kGzip, page, 1));
  EXPECT_EQ(Encode(Encoding::kGzip, page, 42),
            Encode(Encoding::kGzip, page, 9));
  EXPECT_NE(Encode(Encoding::kGzip, page, 1), Encode(Encoding::kGzip, page, 9));
}

TEST(CompressZstdTest, FrameCarriesItsContentSizeAndAChecksum) {
  std::string page = JsonPage(100);
  std::string encoded = Encode(Encoding::kZstd, page);
  EXPECT_EQ(ZSTD_getFrameContentSize(encoded.data(), encoded.size()),
            page.size());
  ZSTD_frameHeader header{};
  ASSERT_EQ(ZSTD_getFrameHeader(&header, encoded.data(), encoded.size()), 0u);
  EXPECT_EQ(header.checksumFlag, 1u);
  EXPECT_LE(header.windowSize, uint64_t{8} << 20);
  // A flipped byte of the checksum is caught.
  encoded.back() = static_cast<char>(encoded.back() ^ 1);
  EXPECT_EQ(Unzstd(encoded), std::nullopt);
}

TEST(CompressZstdTest, LevelsAreClampedToOneToNineteen) {
  std::string page = JsonPage(2000);
  EXPECT_EQ(Encode(Encoding::kZstd, page, 22),
            Encode(Encoding::kZstd, page, 19));
  EXPECT_EQ(Encode(Encoding::kZstd, page, -5),
            Encode(Encoding::kZstd, page, 1));
  EXPECT_NE(Encode(Encoding::kZstd, page, 1),
            Encode(Encoding::kZstd, page, 19));
}

TEST(CompressZstdTest, TheHighestLevelUsedKeepsTheWindowWithinEightMegabytes) {
  // For bodies of any size (srcSize unknown gives the largest table entry),
  // level 19 stays within the 8 MB window of RFC 9659; level 20 would not.
  EXPECT_LE(ZSTD_getCParams(19, 0, 0).windowLog, 23u);
  EXPECT_GT(ZSTD_getCParams(20, 0, 0).windowLog, 23u);
}

// --- CompressTail and JoinHead --------------------------------------------

CompressedTail Tail(Encoding encoding, std::string_view tail, int level = 3) {
  Result<CompressedTail> r = CompressTail(encoding, tail, level);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().internal);
  return r.ok() ? r.value() : CompressedTail{};
}

class JoinHeadTest : public ::testing::TestWithParam<Encoding> {};

TEST_P(JoinHeadTest, AHeadJoinedToACompressedTailDecodesToBoth) {
  std::string page = JsonPage(2000);
  std::string head = "{\"meta\":{\"request_id\":\"3kPq0e6bLrV1yq9XwS2m1A\"";
  CompressedTail tail = Tail(GetParam(), page);
  EXPECT_EQ(Decode(GetParam(), JoinHead(head, tail)), head + page);
}

TEST_P(JoinHeadTest, OneTailServesManyHeads) {
  std::string page = JsonPage(300);
  CompressedTail tail = Tail(GetParam(), page);
  for (std::string head : {"a", "{\"meta\":{\"request_id\":\"x\"", "zz"}) {
    EXPECT_EQ(Decode(GetParam(), JoinHead(head, tail)), head + page) << head;
  }
}

TEST_P(JoinHeadTest, EmptyHeadsAndTailsJoin) {
  std::string page = JsonPage(50);
  EXPECT_EQ(Decode(GetParam(), JoinHead("", Tail(GetParam(), page))), page);
  EXPECT_EQ(Decode(GetParam(), JoinHead("head", Tail(GetParam(), ""))), "head");
}

TEST_P(JoinHeadTest, HeadsLongerThanOneUncompressedBlockJoin) {
  // Past 65535 bytes gzip needs a second stored block; past 255 and 65791
  // bytes the zstd frame's content size takes more bytes; past 128 KiB the
  // zstd frame needs a second raw block.
  std::string tail = JsonPage(100);
  CompressedTail compressed = Tail(GetParam(), tail);
  for (size_t n : {255u, 256u, 65535u, 65536u, 65791u, 65792u, 131072u, 131073u,
                   300000u}) {
    std::string head = RandomBytes(n);
    EXPECT_EQ(Decode(GetParam(), JoinHead(head, compressed)), head + tail)
        << n << " bytes of head";
  }
}

TEST_P(JoinHeadTest, EveryLevelJoins) {
  std::string page = JsonPage(100);
  for (int level : {1, 6, 9, 19}) {
    EXPECT_EQ(Decode(GetParam(), JoinHead("{", Tail(GetParam(), page, level))),
              "{" + page)
        << "level " << level;
  }
}

INSTANTIATE_TEST_SUITE_P(Codings, JoinHeadTest,
                         ::testing::Values(Encoding::kGzip, Encoding::kZstd),
                         [](const auto& info) {
                           return std::string(EncodingName(info.param));
                         });

TEST(JoinHeadGzipTest, IsOneMemberWhoseTrailerCoversHeadAndTail) {
  // One member, so that a reader that stops after the first member (some
  // do) still gets the whole body, and the trailer is checked: a single
  // gzip reader (inflate with no member loop) reads all of it.
  std::string page = JsonPage(500);
  std::string joined = JoinHead("{\"head\":1,", Tail(Encoding::kGzip, page));
  z_stream zs{};
  ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(page.size() + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(joined.data());
  zs.avail_in = static_cast<uInt>(joined.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  EXPECT_EQ(zs.avail_in, 0u) << "bytes after the first member";
  out.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_EQ(out, "{\"head\":1," + page);
  // A flipped byte of the CRC-32 is caught.
  joined[joined.size() - 5] = static_cast<char>(joined[joined.size() - 5] ^ 1);
  EXPECT_EQ(Gunzip(joined), std::nullopt);
}

// What a reader that stops at the end of the first frame returns (some
// HTTP clients have read zstd bodies so).
std::optional<std::string> FirstFrameOnly(std::string_view in) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 23);
  std::string out;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  char buf[16384];
  size_t rc = 1;
  while (rc != 0) {
    ZSTD_outBuffer output{buf, sizeof buf, 0};
    size_t before = input.pos;
    rc = ZSTD_decompressStream(dctx, &output, &input);
    if (ZSTD_isError(rc) || (output.pos == 0 && input.pos == before)) break;
    out.append(buf, output.pos);
  }
  ZSTD_freeDCtx(dctx);
  if (rc != 0) return std::nullopt;
  return out;
}

TEST(JoinHeadZstdTest, IsOneFrameThatAFirstFrameReaderReadsWhole) {
  std::string page = JsonPage(500);
  std::string head = "{\"head\":2,";
  std::string joined = JoinHead(head, Tail(Encoding::kZstd, page));
  EXPECT_EQ(ZSTD_findFrameCompressedSize(joined.data(), joined.size()),
            joined.size());
  EXPECT_EQ(ZSTD_getFrameContentSize(joined.data(), joined.size()),
            head.size() + page.size());
  EXPECT_EQ(FirstFrameOnly(joined), head + page);
  // ZSTD_decompress, which sizes its output from the frame header, too.
  std::string out(head.size() + page.size(), '\0');
  size_t n =
      ZSTD_decompress(out.data(), out.size(), joined.data(), joined.size());
  ASSERT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  EXPECT_EQ(out, head + page);
}

TEST(JoinHeadZstdTest, TheFrameStatesTheTailsWindowAndNoChecksum) {
  // A small tail is compressed as a single segment (its window is its
  // size); a tail larger than the level's window (1: 512 KiB) is not. Both
  // joined frames state a window that covers the tail's and stays within
  // the 8 MB that HTTP decoders must accept.
  std::string big = JsonPage(40000);  // about 2.7 MB
  for (const auto& [tail, level] :
       {std::pair<std::string, int>{JsonPage(100), 3}, {big, 1}, {big, 19}}) {
    CompressedTail compressed = Tail(Encoding::kZstd, tail, level);
    EXPECT_GT(compressed.window, 0u);
    std::string joined = JoinHead("{\"h\":1,", compressed);
    ZSTD_frameHeader header{};
    ASSERT_EQ(ZSTD_getFrameHeader(&header, joined.data(), joined.size()), 0u);
    EXPECT_EQ(header.checksumFlag, 0u);
    EXPECT_GE(header.windowSize, compressed.window);
    EXPECT_LE(header.windowSize, compressed.window * 9 / 8 + 1024);
    EXPECT_LE(header.windowSize, uint64_t{8} << 20);
    EXPECT_EQ(Unzstd(joined), "{\"h\":1," + tail) << "level " << level;
  }
}

TEST(JoinHeadZstdTest, ATailWindowPastTheFormatsLargestStillGetsAHeader) {
  // No real tail has such a window; the join must still end, with the
  // largest window the format states (it once looped forever here).
  CompressedTail tail;
  tail.encoding = Encoding::kZstd;
  tail.bytes = std::string("\x09\0\0x", 4);  // one raw block, last: "x"
  tail.size = 1;
  tail.window = ~uint64_t{0};
  std::string joined = JoinHead("ab", tail);
  // (libzstd refuses to read a window that large, so the bytes are read
  // here.) Magic, descriptor, Window_Descriptor 0xff (2^41 + 7 * 2^38),
  // a 4-byte content size of 3, the head's raw block, the tail's block.
  EXPECT_EQ(joined, std::string("\x28\xb5\x2f\xfd\x80\xff\x03\0\0\0"
                                "\x10\0\0ab"
                                "\x09\0\0x",
                                19));
}

TEST(JoinHeadIdentityTest, IsTheConcatenation) {
  EXPECT_EQ(JoinHead("ab", Tail(Encoding::kIdentity, "cd")), "abcd");
}

TEST(CompressTailTest, RecordsTheTailsLengthAndCrc) {
  std::string page = JsonPage(100);
  CompressedTail tail = Tail(Encoding::kGzip, page);
  EXPECT_EQ(tail.size, page.size());
  EXPECT_EQ(tail.crc32, crc32(0, reinterpret_cast<const Bytef*>(page.data()),
                              static_cast<uInt>(page.size())));
  EXPECT_LT(tail.bytes.size() * 5, page.size());
}

}  // namespace
}  // namespace qs
