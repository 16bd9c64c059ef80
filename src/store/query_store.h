#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "common/content_coding.h"
#include "common/memo.h"
#include "common/query_status.h"
#include "common/status.h"

namespace qs::store {

// What one status poll needs, read in one round trip.
struct StatusSnapshot {
  QueryStatusCode status = QueryStatusCode::kScheduled;
  int32_t queries_ready = 0;
  int32_t queries_total = 0;
  int32_t tasks_scheduled = 0;  // the owning license's queue
  int32_t tasks_running = 0;
  int64_t total_rows = 0;  // rows the query produced
  // The requested rows, each a JSON object as stored, joined by commas in
  // row-index order, ready to be placed between '[' and ']'. Empty unless the
  // status is SUCCESS.
  std::string rows_json;
  // Sha256Hex(rows_json) when there are rows, else empty: what the ETag
  // covers of the rows, computed once per read rather than per answer.
  std::string rows_digest;
  int64_t rows_returned = 0;
  // The query stops being visible at this time (finished_at + the license's
  // retention); the maximum for a query that has not finished.
  int64_t visible_until_unix = std::numeric_limits<int64_t>::max();
  // The ETag of the answer this snapshot gives, kept with it so that a
  // cached page is tagged once, not per request. Filled by the API layer on
  // first use; a snapshot answers one (license, query, row range), and the
  // tag depends on nothing else that varies.
  StringMemo etag;
  // The body after meta.request_id (api::RenderStatusTail): its length, and
  // compressed once per coding, kept with the snapshot as the ETag is, so
  // that a cached page is compressed once however often it is served.
  // Filled by the API layer on first use (api/body_coding.h); a tail is
  // nullopt when compressing it failed (its bodies then go as is). Not
  // counted in the status cache's byte bound, which counts the rows: a
  // page's compressed tails add about a fifth (gzip) and a tenth (zstd)
  // of its size.
  Memo<size_t> tail_size;
  Memo<std::optional<CompressedTail>> gzip_tail;
  Memo<std::optional<CompressedTail>> zstd_tail;
};

// Snapshots are shared, never copied: a cached 10,000-row page is read by
// many requests at once.
using SnapshotPtr = std::shared_ptr<const StatusSnapshot>;

struct StatusLookup {
  int64_t license_id;
  std::string schedule_id;
  int64_t first_row;
  int64_t last_row;  // inclusive
};

// Reads query state. Implementations must not throw: failures come back as
// kUnavailable (the database did not answer) or kInternal, and an unknown,
// foreign or expired query as kNotFound.
class QueryStore {
 public:
  virtual ~QueryStore() = default;
  virtual Result<SnapshotPtr> ReadStatus(const StatusLookup& lookup) = 0;
  // ReadStatus's answer when it needs no I/O (held in memory); nullopt
  // otherwise. Lets a caller on an event loop avoid handing off to a thread
  // that may block.
  virtual std::optional<Result<SnapshotPtr>> TryReadCached(
      const StatusLookup&) {
    return std::nullopt;
  }
};

}  // namespace qs::store
