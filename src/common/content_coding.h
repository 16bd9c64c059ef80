// Content codings of a response body (RFC 9110 8.4): choosing one from the
// client's Accept-Encoding (RFC 9110 12.5.3) and applying it. Pure code: no
// I/O, no framework types; the chooser is total on any bytes (it is fuzzed).
// The caller joins several Accept-Encoding fields with ", " (RFC 9110 5.3).
#pragma once

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

}  // namespace qs
