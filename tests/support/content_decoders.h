// gzip and zstd decoders for the tests and fuzzers of the content codings.
// They read what a client would: every gzip member, every zstd frame, one
// after the other, and the zstd decoder refuses windows above 8 MB as HTTP
// decoders may (RFC 9659). nullopt on any error, on trailing garbage and on
// empty input. Header-only, so that the fuzz build (which compiles no file
// of tests/support) can use them too.
#pragma once

#include <zlib.h>
#include <zstd.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace qs::testing {

inline std::optional<std::string> Gunzip(std::string_view in) {
  std::string out;
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return std::nullopt;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  char buf[16384];
  bool ok = false;
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) {
        ok = true;
        break;
      }
      if (inflateReset(&zs) != Z_OK) break;  // the next member
      continue;
    }
    if (rc != Z_OK) break;
  }
  inflateEnd(&zs);
  if (!ok) return std::nullopt;
  return out;
}

inline std::optional<std::string> Unzstd(std::string_view in) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (!dctx) return std::nullopt;
  ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 23);
  std::string out;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  char buf[16384];
  size_t last = 1;  // nonzero: no frame finished yet
  bool error = false;
  // Until every byte is read and the last frame is flushed; a call that
  // neither reads nor writes while a frame is unfinished means truncation.
  while (!error && (input.pos < input.size || last != 0)) {
    ZSTD_outBuffer output{buf, sizeof buf, 0};
    size_t before = input.pos;
    last = ZSTD_decompressStream(dctx, &output, &input);
    if (ZSTD_isError(last)) {
      error = true;
      break;
    }
    out.append(buf, output.pos);
    if (output.pos == 0 && input.pos == before) error = last != 0;
  }
  ZSTD_freeDCtx(dctx);
  if (error || in.empty()) return std::nullopt;
  return out;
}

}  // namespace qs::testing
