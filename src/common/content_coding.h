// Content codings of a response body (RFC 9110 8.4): choosing one from the
// client's Accept-Encoding (RFC 9110 12.5.3) and applying it. Pure code: no
// I/O, no framework types; the chooser is total on any bytes (it is fuzzed).
// The caller joins several Accept-Encoding fields with ", " (RFC 9110 5.3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace qs {

// The codings this service produces. kIdentity is the body as is.
enum class Encoding { kIdentity, kGzip, kZstd };

// The Content-Encoding field value of `encoding` ("gzip", "zstd"), and
// "identity" for kIdentity (which is never sent as a Content-Encoding).
std::string_view EncodingName(Encoding encoding);

// The coding to answer with, given the Accept-Encoding field value
// (nullopt when the request has none). Never "not acceptable": the answer
// falls back to identity rather than 406. What it does:
// - No field, or an empty one, gives identity (RFC 9110 12.5.3: an empty
//   value means no coding is wanted; the absent case is this service's
//   choice, so that clients that never asked get plain bytes).
// - Elements are `coding [ OWS ";" OWS "q=" qvalue ]`, separated by commas
//   with OWS and empty elements allowed. Coding names and the `q` compare
//   case-insensitively; `x-gzip` is gzip (RFC 9110 8.4.1.3). A qvalue is
//   `0[.ddd]` or `1[.000]`, at most three decimals.
// - A malformed element (no token, a malformed qvalue, a parameter other
//   than q, anything after the weight) is ignored as a whole, as if it were
//   not there.
// - The weight of gzip, zstd and identity is the weight of their own
//   element; a coding named more than once (gzip and x-gzip count as one)
//   takes its lowest weight, so an explicit refusal anywhere stands. A
//   coding not named takes the weight of `*` if the field has one (again
//   the lowest if several), else it is not acceptable (gzip, zstd) or
//   merely the fallback (identity).
// - q=0 means not acceptable. Of the codings with the highest positive
//   weight the server prefers zstd, then gzip, then identity; identity wins
//   only by a strictly higher weight (`identity, gzip;q=0.5`).
// - When neither gzip nor zstd is acceptable the answer is identity, even
//   when identity is refused too (`identity;q=0` or `*;q=0`): the service
//   never answers 406 for a coding.
Encoding ChooseEncoding(std::optional<std::string_view> accept_encoding);

// `body` in `encoding`: gzip is one gzip member (RFC 1952, zlib's deflate
// with windowBits 15 + 16); zstd is one Zstandard frame (RFC 8878) with its
// content size and a content checksum. kIdentity returns `body` as is.
// `level` is clamped to 1..9 for gzip and to 1..19 for zstd: zstd's levels
// above 19 use windows larger than the 8 MB that HTTP decoders are required
// to accept (RFC 9659), so they are never used. Deterministic: the same
// body and level give the same bytes. Fails only when the library cannot
// allocate its state.
Result<std::string> Compress(Encoding encoding, std::string_view body,
                             int level);

// A body in two parts, head + tail, where the head differs in every response
// and the tail is shared by many: the tail is compressed once
// (CompressTail) and kept, and each response puts its own head in front of
// it (JoinHead) with no compression at all: the head goes in uncompressed
// blocks of the coding's own format. For a status page the head is the
// few bytes up to meta.request_id and the tail everything after it.
struct CompressedTail {
  Encoding encoding = Encoding::kIdentity;
  // gzip: a raw deflate stream (RFC 1951, no wrapper) of the tail, ended
  // with its final block; zstd: the blocks of one Zstandard frame (RFC 8878
  // 3.1.1.2) of the tail, without the frame's header, its last block
  // marked; identity: the tail as is.
  std::string bytes;
  uint32_t crc32 = 0;   // gzip: CRC-32 of the tail (the trailer needs it)
  uint64_t window = 0;  // zstd: how far back the blocks' matches may reach
  uint64_t size = 0;    // the tail's length before compression
};

// `tail` compressed for JoinHead, at `level` (clamped as Compress clamps).
// Fails only when the library cannot allocate its state.
Result<CompressedTail> CompressTail(Encoding encoding, std::string_view tail,
                                    int level);

// head + tail in tail.encoding, as one gzip member or one zstd frame, so
// that even a reader that stops after the first member or frame (some HTTP
// clients have) reads all of it:
// - gzip (RFC 1952): the 10-byte header, `head` as stored deflate blocks
//   (not final, byte-aligned), the tail's deflate blocks, and the trailer,
//   whose CRC-32 is crc32_combine(crc(head), tail.crc32, tail.size) and
//   whose ISIZE is the joined length mod 2^32.
// - zstd (RFC 8878): a frame header giving the joined content size and the
//   tail's window (rounded up to a size the format can state, so within
//   8 MB when the tail's is), `head` as raw blocks, then the tail's blocks.
//   No content checksum: it would have to be computed over the whole body
//   for every response.
// - identity: head + tail.bytes.
// Costs a copy of the tail's bytes and, for gzip, a CRC-32 of the head.
std::string JoinHead(std::string_view head, const CompressedTail& tail);

}  // namespace qs
