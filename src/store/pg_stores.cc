#include "store/pg_stores.h"

#include <algorithm>

namespace qs::store {
namespace {

constexpr char kReadStatusName[] = "read_status";
// The query, its license's queue and, for SUCCESS only, the requested rows
// joined into one text in row order (the rows are kept as json text, so they
// are neither parsed nor re-serialised on the way out). A query of another
// license, or finished longer ago than its license's retention, is no row.
constexpr char kReadStatusSql[] = R"sql(
SELECT q.status_code,
       q.queries_ready,
       q.queries_total,
       q.total_rows,
       COALESCE(lq.tasks_scheduled, 0),
       COALESCE(lq.tasks_running, 0),
       CASE WHEN q.status_code = 'SUCCESS' THEN
         (SELECT string_agg(r.data::text, ',' ORDER BY r.row_index)
            FROM result_rows r
           WHERE r.schedule_id = q.schedule_id
             AND r.row_index BETWEEN $3 AND $4)
       END,
       EXTRACT(EPOCH FROM q.finished_at
                          + make_interval(secs => l.retention_seconds))::bigint
  FROM queries q
  JOIN licenses l ON l.id = q.license_id
  LEFT JOIN license_queues lq ON lq.license_id = q.license_id
 WHERE q.schedule_id = $1
   AND q.license_id = $2
   AND (q.finished_at IS NULL
        OR q.finished_at > now() - make_interval(secs => l.retention_seconds))
)sql";

constexpr char kFindKeyName[] = "find_key";
constexpr char kFindKeySql[] = R"sql(
SELECT k.id, k.license_id, k.rate_limit, l.rate_limit,
       k.revoked_at IS NOT NULL,
       EXTRACT(EPOCH FROM k.expires_at)::bigint
  FROM api_keys k
  JOIN licenses l ON l.id = k.license_id
 WHERE k.token_sha256 = $1
)sql";

}  // namespace

void PrepareServingStatements(pqxx::connection& conn) {
  conn.prepare(kReadStatusName, kReadStatusSql);
  conn.prepare(kFindKeyName, kFindKeySql);
}

Result<SnapshotPtr> PgQueryStore::ReadStatus(const StatusLookup& lookup) {
  auto r = pool_.Run<std::optional<SnapshotPtr>>(
      kReadStatusName, [&](pqxx::connection& c) -> std::optional<SnapshotPtr> {
        pqxx::nontransaction tx(c);
        pqxx::result res = tx.exec_prepared(kReadStatusName, lookup.schedule_id,
                                            lookup.license_id, lookup.first_row,
                                            lookup.last_row);
        if (res.empty()) return std::nullopt;
        const pqxx::row row = res[0];
        auto snapshot = std::make_shared<StatusSnapshot>();
        StatusSnapshot& s = *snapshot;
        auto code = ParseQueryStatus(row[0].c_str());
        s.status = code.value_or(QueryStatusCode::kFailure);
        s.queries_ready = row[1].as<int32_t>();
        s.queries_total = row[2].as<int32_t>();
        s.total_rows = row[3].as<int64_t>();
        s.tasks_scheduled = row[4].as<int32_t>();
        s.tasks_running = row[5].as<int32_t>();
        if (!row[6].is_null()) {
          s.rows_json.assign(row[6].c_str(), row[6].size());
          // Rows are contiguous from 0 (rows load keeps them so).
          int64_t last = std::min(lookup.last_row, s.total_rows - 1);
          s.rows_returned = std::max<int64_t>(0, last - lookup.first_row + 1);
        }
        if (!row[7].is_null()) s.visible_until_unix = row[7].as<int64_t>();
        return SnapshotPtr(std::move(snapshot));
      });
  if (!r.ok()) return r.error();
  if (!r.value()) return Error::NotFound("query status not found");
  return *r.value();
}

Result<std::optional<KeyRecord>> PgKeyStore::FindByTokenHash(
    const std::string& token_hash) {
  return pool_.Run<std::optional<KeyRecord>>(
      kFindKeyName, [&](pqxx::connection& c) -> std::optional<KeyRecord> {
        pqxx::nontransaction tx(c);
        pqxx::result res = tx.exec_prepared(kFindKeyName, token_hash);
        if (res.empty()) return std::nullopt;
        const pqxx::row row = res[0];
        KeyRecord k;
        k.key_id = row[0].as<int64_t>();
        k.license_id = row[1].as<int64_t>();
        if (!row[2].is_null()) k.key_rate_limit = row[2].as<int32_t>();
        if (!row[3].is_null()) k.license_rate_limit = row[3].as<int32_t>();
        k.revoked = row[4].as<bool>();
        if (!row[5].is_null()) k.expires_at_unix = row[5].as<int64_t>();
        return k;
      });
}

}  // namespace qs::store
