#include "common/content_coding.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <memory>

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

// windowBits for deflate: 15 (a 32 KB window), + 16 for the gzip wrapper.
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kZstdMaxLevel = 19;

Result<std::string> Gzip(std::string_view body, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, std::clamp(level, 1, 9), Z_DEFLATED, kGzipWindowBits, 8,
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

Result<std::string> Zstd(std::string_view body, int level) {
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(),
                                                          ZSTD_freeCCtx);
  if (!cctx) return Error::Internal("zstd: cannot allocate a context");
  if (ZSTD_isError(
          ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel,
                                 std::clamp(level, 1, kZstdMaxLevel))) ||
      ZSTD_isError(
          ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1))) {
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

Result<std::string> Compress(Encoding encoding, std::string_view body,
                             int level) {
  switch (encoding) {
    case Encoding::kGzip:
      return Gzip(body, level);
    case Encoding::kZstd:
      return Zstd(body, level);
    case Encoding::kIdentity:
      break;
  }
  return std::string(body);
}

}  // namespace qs
