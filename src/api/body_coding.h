// The 200 body of GET /query/status in the content coding the client
// accepts (Accept-Encoding, common/content_coding.h).
//
// The body is split where it stops varying per request: its head is
// {"meta":{"request_id":<id>, its tail everything after that, which depends
// only on the snapshot (and the page, which the snapshot answers). The
// tail is compressed once per snapshot and coding and kept with it
// (StatusSnapshot::gzip_tail, zstd_tail); each response only frames its
// head around it (JoinHead: uncompressed blocks, no compression). So a
// page in the status cache is compressed on its first encoded answer in
// each coding, and never again while it stays cached; a page read past the
// cache (a snapshot of its own) pays one compression per response.
#pragma once

#include <cstddef>
#include <string>

#include "api/status_json.h"
#include "common/content_coding.h"
#include "store/query_store.h"

namespace qs::api {

// Bodies shorter than this (identity length) go as is: the coding's frame
// and the client's decoding would cost more than the bytes saved.
inline constexpr size_t kMinCodedBodyBytes = 1024;

// The levels, chosen with tests/bench/coding_levels on the benchmark's
// 10,000-row page (617 KB; docs/api.md, "Compression", has the table; CPU
// times moved by up to a half between runs on a shared machine). A tail is
// compressed once per cached page and coding, so a level past the cheapest
// can pay; but a miss pays it on the request path, and while the change
// feed is down (every read past the cache) so does every response.
// gzip 6: 115 KB for 9-13 ms of CPU, where 1 gives 153 KB (4-5 ms) and 9
// saves 10% more for 4 to 6 times the CPU (104 KB, 52-60 ms). zstd 3: 66 KB
// for 1.1-1.6 ms, no dearer than 1 (70 KB); 6 saves under 5% more (63 KB)
// for 3 to 5 times the CPU, 9 no more than 6, and 19 (47 KB) costs
// 260-430 ms.
inline constexpr int kGzipLevel = 6;
inline constexpr int kZstdLevel = 3;

struct CodedBody {
  Encoding coding =
      Encoding::kIdentity;   // the Content-Encoding, if not identity
  std::string bytes;         // as sent
  size_t identity_size = 0;  // the body's length before coding
  bool compressed = false;   // this call compressed the tail
};

// The 200 body `v` renders, of snapshot `s` (whose tail memos it fills), in
// `accepted` (ChooseEncoding's answer) when the body has at least
// kMinCodedBodyBytes and the tail could be compressed; otherwise identity.
// Decoded, the bytes are exactly RenderStatusBody(v). Thread-safe: the
// snapshot's memos compute once, whichever thread asks first.
CodedBody RenderCodedBody(const StatusView& v, const store::StatusSnapshot& s,
                          Encoding accepted);

}  // namespace qs::api
