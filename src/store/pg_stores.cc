#include "store/pg_stores.h"

#include <algorithm>

#include "common/sha256.h"
#include "store/embedded/find_key_sql.h"
#include "store/embedded/read_status_sql.h"

namespace qs::store {
namespace {

// Each statement is src/store/sql/<name>.sql, embedded at build time.
using embedded::kFindKeySql;
using embedded::kReadStatusSql;
constexpr char kReadStatusName[] = "read_status";

constexpr char kFindKeyName[] = "find_key";

}  // namespace

PgRows PrepareServingStatements(PgConnection& conn) {
  PgRows rows = conn.Prepare(kReadStatusName, kReadStatusSql);
  if (!rows.raw() || PQresultStatus(rows.raw()) != PGRES_COMMAND_OK) {
    return rows;
  }
  return conn.Prepare(kFindKeyName, kFindKeySql);
}

Result<SnapshotPtr> PgQueryStore::ReadStatus(const StatusLookup& lookup) {
  auto r = pool_.Run(metrics::PostgresOperation::kReadStatus, [&](PgConnection&
                                                                      c) {
    return c.ExecPrepared(
        kReadStatusName,
        {lookup.schedule_id, std::to_string(lookup.license_id),
         std::to_string(lookup.first_row), std::to_string(lookup.last_row)});
  });
  if (!r.ok()) return r.error();
  const PgRows& rows = r.value();
  if (rows.empty()) return Error::NotFound("query status not found");
  auto snapshot = std::make_shared<StatusSnapshot>();
  StatusSnapshot& s = *snapshot;
  auto code = ParseQueryStatus(rows.Text(0, 0));
  s.status = code.value_or(QueryStatusCode::kFailure);
  auto ready = rows.Int(0, 1), total = rows.Int(0, 2),
       total_rows = rows.Int(0, 3), scheduled = rows.Int(0, 4),
       running = rows.Int(0, 5);
  if (!ready || !total || !total_rows || !scheduled || !running) {
    return Error::Internal("read_status: a count is not an integer");
  }
  s.queries_ready = static_cast<int32_t>(*ready);
  s.queries_total = static_cast<int32_t>(*total);
  s.total_rows = *total_rows;
  s.tasks_scheduled = static_cast<int32_t>(*scheduled);
  s.tasks_running = static_cast<int32_t>(*running);
  if (!rows.IsNull(0, 6)) {
    s.rows_json = rows.Text(0, 6);
    s.rows_digest = Sha256Hex(s.rows_json);
    // Rows are contiguous from 0 (rows load keeps them so).
    int64_t last = std::min(lookup.last_row, s.total_rows - 1);
    s.rows_returned = std::max<int64_t>(0, last - lookup.first_row + 1);
  }
  if (!rows.IsNull(0, 7)) {
    auto until = rows.Int(0, 7);
    if (!until) return Error::Internal("read_status: bad visibility time");
    s.visible_until_unix = *until;
  }
  return SnapshotPtr(std::move(snapshot));
}

Result<std::optional<KeyRecord>> PgKeyStore::FindByTokenHash(
    const std::string& token_hash) {
  auto r =
      pool_.Run(metrics::PostgresOperation::kFindKey, [&](PgConnection& c) {
        return c.ExecPrepared(kFindKeyName, {token_hash});
      });
  if (!r.ok()) return r.error();
  const PgRows& rows = r.value();
  if (rows.empty()) return std::optional<KeyRecord>();
  auto key_id = rows.Int(0, 0), license_id = rows.Int(0, 1);
  auto revoked = rows.Bool(0, 4);
  bool nullable_ok = true;
  for (int column : {2, 3, 5}) {
    nullable_ok =
        nullable_ok && (rows.IsNull(0, column) || rows.Int(0, column));
  }
  if (!key_id || !license_id || !revoked || !nullable_ok) {
    return Error::Internal("find_key: unexpected column value");
  }
  KeyRecord k;
  k.key_id = *key_id;
  k.license_id = *license_id;
  if (auto v = rows.Int(0, 2)) k.key_rate_limit = static_cast<int32_t>(*v);
  if (auto v = rows.Int(0, 3)) k.license_rate_limit = static_cast<int32_t>(*v);
  k.revoked = *revoked;
  if (auto v = rows.Int(0, 5)) k.expires_at_unix = *v;
  return std::optional<KeyRecord>(std::move(k));
}

}  // namespace qs::store
