#include "common/content_coding.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "common/header_syntax.h"

namespace qs {
namespace {

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in
// thousandths (0..1000), or nullopt.
std::optional<int> ParseQvalue(std::string_view s) {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return std::nullopt;
  int whole = s[0] - '0';
  s.remove_prefix(1);
  if (s.empty()) return whole * 1000;
  if (s[0] != '.' || s.size() > 4) return std::nullopt;
  int thousandths = 0;
  int scale = 100;
  for (char c : s.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    if (whole == 1 && c != '0') return std::nullopt;
    thousandths += (c - '0') * scale;
    scale /= 10;
  }
  return whole * 1000 + thousandths;
}

struct Element {
  std::string_view coding;
  int weight = 1000;  // thousandths
};

// `coding [ OWS ";" OWS "q=" qvalue ]` with the OWS around it trimmed, or
// nullopt when malformed.
std::optional<Element> ParseElement(std::string_view s) {
  size_t p = 0;
  while (p < s.size() && IsTchar(s[p])) ++p;
  if (p == 0) return std::nullopt;
  Element e;
  e.coding = s.substr(0, p);
  while (p < s.size() && IsOws(s[p])) ++p;
  if (p == s.size()) return e;
  if (s[p] != ';') return std::nullopt;
  ++p;
  while (p < s.size() && IsOws(s[p])) ++p;
  if (s.size() - p < 2 || (s[p] != 'q' && s[p] != 'Q') || s[p + 1] != '=') {
    return std::nullopt;
  }
  std::optional<int> q = ParseQvalue(s.substr(p + 2));
  if (!q) return std::nullopt;
  e.weight = *q;
  return e;
}

void KeepLowest(std::optional<int>* slot, int weight) {
  if (!*slot || weight < **slot) *slot = weight;
}

// windowBits for deflate: 15 (a 32 KB window), + 16 for the gzip wrapper;
// negative for a raw deflate stream with no wrapper at all.
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kRawDeflateWindowBits = -15;
constexpr int kZstdMaxLevel = 19;

// `body` deflated with `window_bits` (gzip-wrapped or raw), ended with
// Z_FINISH.
Result<std::string> Deflate(std::string_view body, int level, int window_bits) {
  z_stream zs{};
  if (deflateInit2(&zs, std::clamp(level, 1, 9), Z_DEFLATED, window_bits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return Error::Internal("gzip: deflateInit2 failed");
  }
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);

  std::string out;
  // deflateBound covers the gzip wrapper, so one pass usually suffices;
  // the loop below still grows the buffer if it does not.
  out.resize(deflateBound(
      &zs, static_cast<uLong>(std::min<size_t>(body.size(), ULONG_MAX))));
  const auto* in = reinterpret_cast<const Bytef*>(body.data());
  size_t in_left = body.size();
  size_t produced = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && in_left > 0) {
      uInt chunk = static_cast<uInt>(std::min<size_t>(in_left, UINT_MAX));
      zs.next_in = const_cast<Bytef*>(in);
      zs.avail_in = chunk;
      in += chunk;
      in_left -= chunk;
    }
    if (produced == out.size()) out.resize(out.size() * 2 + 64);
    size_t room = std::min<size_t>(out.size() - produced, UINT_MAX);
    zs.next_out = reinterpret_cast<Bytef*>(&out[produced]);
    zs.avail_out = static_cast<uInt>(room);
    rc = deflate(&zs, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      return Error::Internal("gzip: deflate failed");
    }
    produced += room - zs.avail_out;
  }
  out.resize(produced);
  return out;
}

Result<std::string> Gzip(std::string_view body, int level) {
  return Deflate(body, level, kGzipWindowBits);
}

uint32_t Crc32(uint32_t crc, std::string_view bytes) {
  // zlib's crc32 takes a uInt length: feed it in pieces that fit.
  while (!bytes.empty()) {
    uInt n = static_cast<uInt>(std::min<size_t>(bytes.size(), UINT_MAX));
    crc = static_cast<uint32_t>(
        crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), n));
    bytes.remove_prefix(n);
  }
  return crc;
}

void AppendLittleEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    out += static_cast<char>((value >> (8 * i)) & 0xff);
  }
}

// The gzip member of head + tail (see JoinHead).
std::string JoinGzip(std::string_view head, const CompressedTail& tail) {
  // RFC 1952 2.3: ID1 ID2, CM 8 (deflate), no flags, no MTIME, no XFL,
  // OS 255 (unknown): the same bytes whatever machine made them.
  constexpr std::string_view kHeader("\x1f\x8b\x08\0\0\0\0\0\0\xff", 10);
  // A stored block holds at most 65535 bytes (RFC 1951 3.2.4).
  constexpr size_t kStoredMax = 65535;
  std::string out;
  out.reserve(kHeader.size() + head.size() +
              5 * (head.size() / kStoredMax + 1) + tail.bytes.size() + 8);
  out += kHeader;
  for (size_t at = 0; at < head.size(); at += kStoredMax) {
    std::string_view piece = head.substr(at, kStoredMax);
    // BFINAL 0, BTYPE 00 (stored), then padding to the byte boundary: one
    // zero byte, as the stream is byte-aligned here. Then LEN and NLEN.
    out += '\0';
    AppendLittleEndian(out, piece.size(), 2);
    AppendLittleEndian(out, ~piece.size() & 0xffff, 2);
    out += piece;
  }
  // The tail's stream starts on a byte boundary too, and refers to nothing
  // before it: it was compressed on its own.
  out += tail.bytes;
  uint32_t crc = static_cast<uint32_t>(crc32_combine(
      Crc32(0, head), tail.crc32, static_cast<z_off_t>(tail.size)));
  AppendLittleEndian(out, crc, 4);
  AppendLittleEndian(out, (head.size() + tail.size) & 0xffffffffu, 4);
  return out;
}

// One Zstandard frame of `body`, with its content size, and a content
// checksum when `checksum`.
Result<std::string> Zstd(std::string_view body, int level, bool checksum) {
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(),
                                                          ZSTD_freeCCtx);
  if (!cctx) return Error::Internal("zstd: cannot allocate a context");
  if (ZSTD_isError(
          ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel,
                                 std::clamp(level, 1, kZstdMaxLevel))) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag,
                                          checksum ? 1 : 0))) {
    return Error::Internal("zstd: cannot set the parameters");
  }
  std::string out;
  out.resize(ZSTD_compressBound(body.size()));
  size_t n = ZSTD_compress2(cctx.get(), out.data(), out.size(), body.data(),
                            body.size());
  if (ZSTD_isError(n)) {
    return Error::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  out.resize(n);
  return out;
}

constexpr uint32_t kZstdMagic = 0xFD2FB528;
constexpr uint64_t kZstdBlockMax = 128 * 1024;

uint64_t ReadLittleEndian(std::string_view bytes, size_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  }
  return v;
}

// The tail's frame made into what JoinHead needs: its blocks alone (the
// frame header taken off; the frame has no checksum) and the window its
// matches may reach back across (RFC 8878 3.1.1.1).
Result<CompressedTail> ZstdBlocks(std::string_view frame) {
  auto malformed = [] {
    return Error::Internal("zstd: unexpected frame header");
  };
  if (frame.size() < 5 || ReadLittleEndian(frame, 0, 4) != kZstdMagic) {
    return malformed();
  }
  const auto descriptor = static_cast<unsigned char>(frame[4]);
  const int fcs_flag = descriptor >> 6;
  const bool single_segment = (descriptor >> 5) & 1;
  const bool checksum = (descriptor >> 2) & 1;
  static constexpr int kDictIdBytes[] = {0, 1, 2, 4};
  static constexpr int kFcsBytes[] = {0, 2, 4, 8};
  const int fcs_bytes =
      fcs_flag == 0 ? (single_segment ? 1 : 0) : kFcsBytes[fcs_flag];
  size_t at = 5;
  uint64_t window = 0;
  if (!single_segment) {
    if (frame.size() < at + 1) return malformed();
    const auto wd = static_cast<unsigned char>(frame[at++]);
    const uint64_t base = uint64_t{1} << (10 + (wd >> 3));
    window = base + (base / 8) * (wd & 7);
  }
  at += kDictIdBytes[descriptor & 3];
  if (checksum || (descriptor & 3) != 0 || frame.size() < at + fcs_bytes) {
    return malformed();  // Zstd() made it with neither
  }
  if (single_segment) {
    window =
        ReadLittleEndian(frame, at, fcs_bytes) + (fcs_bytes == 2 ? 256 : 0);
  }
  at += fcs_bytes;
  CompressedTail out;
  out.encoding = Encoding::kZstd;
  out.bytes = std::string(frame.substr(at));
  out.window = window;
  return out;
}

// The one frame of head + tail (see JoinHead).
std::string JoinZstd(std::string_view head, const CompressedTail& tail) {
  std::string out;
  out.reserve(4 + 1 + 1 + 8 + head.size() + 3 * (head.size() / 1024 + 1) +
              tail.bytes.size());
  AppendLittleEndian(out, kZstdMagic, 4);
  // Frame_Header_Descriptor: a 4-byte Frame_Content_Size (8 past 4 GiB),
  // no single segment (so a Window_Descriptor follows), no checksum (it
  // would have to cover the head too), no dictionary.
  const uint64_t content = head.size() + tail.size;
  const bool large = content > 0xffffffffu;
  out += static_cast<char>(large ? 0xc0 : 0x80);
  // Window_Descriptor: the smallest window the format can state that is at
  // least the tail's (and at least its minimum, 1 KiB). The format's
  // windows between 2^n and 2^(n+1) are 2^n (1 + m/8), so a tail window
  // within 8 MiB stays within 8 MiB, the most HTTP decoders must accept.
  // (The largest it can state, about 3.75 TiB, is far past any tail.)
  int descriptor = 0;
  uint64_t window = 0;
  for (int d = 0; d < 256; ++d) {
    const uint64_t base = uint64_t{1} << (10 + (d >> 3));
    descriptor = d;
    window = base + (base / 8) * (d & 7);
    if (window >= tail.window) break;
  }
  out += static_cast<char>(descriptor);
  AppendLittleEndian(out, content, large ? 8 : 4);
  // The head in raw blocks, none marked last: at most Block_Maximum_Size
  // each, min(window, 128 KiB).
  const size_t block_max = std::min(window, kZstdBlockMax);
  for (size_t at = 0; at < head.size(); at += block_max) {
    std::string_view block = head.substr(at, block_max);
    // Block_Header: Last_Block (bit 0) 0, Block_Type raw (bits 1-2) 0,
    // Block_Size (bits 3-23).
    AppendLittleEndian(out, uint64_t{block.size()} << 3, 3);
    out += block;
  }
  // The tail's blocks, its last one marked. Raw blocks change none of the
  // state its compressed blocks start from (no entropy tables, the initial
  // repeat offsets), and its matches reach only into its own bytes, within
  // the window given above.
  out += tail.bytes;
  return out;
}

}  // namespace

std::string_view EncodingName(Encoding encoding) {
  switch (encoding) {
    case Encoding::kGzip:
      return "gzip";
    case Encoding::kZstd:
      return "zstd";
    case Encoding::kIdentity:
      break;
  }
  return "identity";
}

Encoding ChooseEncoding(std::optional<std::string_view> accept_encoding) {
  if (!accept_encoding) return Encoding::kIdentity;
  std::optional<int> gzip, zstd, identity, any;
  ForEachCommaSeparated(*accept_encoding, [&](std::string_view item) {
    if (item.empty()) return;
    std::optional<Element> e = ParseElement(item);
    if (!e) return;
    if (EqualsIgnoreCase(e->coding, "gzip") ||
        EqualsIgnoreCase(e->coding, "x-gzip")) {
      KeepLowest(&gzip, e->weight);
    } else if (EqualsIgnoreCase(e->coding, "zstd")) {
      KeepLowest(&zstd, e->weight);
    } else if (EqualsIgnoreCase(e->coding, "identity")) {
      KeepLowest(&identity, e->weight);
    } else if (e->coding == "*") {
      KeepLowest(&any, e->weight);
    }
  });
  int gzip_q = gzip.value_or(any.value_or(0));
  int zstd_q = zstd.value_or(any.value_or(0));
  // Unnamed identity is only the fallback: it beats nothing.
  int identity_q = identity.value_or(any.value_or(0));
  int best = std::max(gzip_q, zstd_q);
  if (best == 0 || identity_q > best) return Encoding::kIdentity;
  return zstd_q == best ? Encoding::kZstd : Encoding::kGzip;
}

Result<CompressedTail> CompressTail(Encoding encoding, std::string_view tail,
                                    int level) {
  CompressedTail out;
  out.encoding = encoding;
  out.size = tail.size();
  switch (encoding) {
    case Encoding::kGzip: {
      Result<std::string> deflated =
          Deflate(tail, level, kRawDeflateWindowBits);
      if (!deflated.ok()) return deflated.error();
      out.bytes = std::move(deflated).value();
      out.crc32 = Crc32(0, tail);
      return out;
    }
    case Encoding::kZstd: {
      Result<std::string> frame = Zstd(tail, level, /*checksum=*/false);
      if (!frame.ok()) return frame.error();
      Result<CompressedTail> blocks = ZstdBlocks(frame.value());
      if (!blocks.ok()) return blocks.error();
      blocks.value().size = tail.size();
      return blocks;
    }
    case Encoding::kIdentity:
      break;
  }
  out.bytes = std::string(tail);
  return out;
}

std::string JoinHead(std::string_view head, const CompressedTail& tail) {
  switch (tail.encoding) {
    case Encoding::kGzip:
      return JoinGzip(head, tail);
    case Encoding::kZstd:
      return JoinZstd(head, tail);
    case Encoding::kIdentity:
      break;
  }
  std::string out;
  out.reserve(head.size() + tail.bytes.size());
  out += head;
  out += tail.bytes;
  return out;
}

Result<std::string> Compress(Encoding encoding, std::string_view body,
                             int level) {
  switch (encoding) {
    case Encoding::kGzip:
      return Gzip(body, level);
    case Encoding::kZstd:
      return Zstd(body, level, /*checksum=*/true);
    case Encoding::kIdentity:
      break;
  }
  return std::string(body);
}

}  // namespace qs
