#include "store/admin_store.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <pqxx/stream_to>
#include <regex>
#include <sstream>
#include <tuple>
#include <vector>

#include "store/pg_failure.h"
#include "store/pg_pool.h"

namespace qs::store {
namespace {

constexpr char kCreateLicenseSql[] = R"sql(
INSERT INTO licenses (name, rate_limit, retention_seconds)
VALUES ($1, $2, COALESCE($3, 3600)) RETURNING id
)sql";
constexpr char kFindLicenseSql[] =
    "SELECT id FROM licenses WHERE name = $1 ORDER BY id LIMIT 1";
constexpr char kLicenseExistsSql[] = "SELECT 1 FROM licenses WHERE id = $1";
constexpr char kCreateKeySql[] = R"sql(
INSERT INTO api_keys (license_id, token_sha256, rate_limit, expires_at)
VALUES ($1, $2, $3,
        CASE WHEN $4::bigint IS NULL THEN NULL
             ELSE now() + make_interval(secs => $4::bigint) END)
RETURNING id
)sql";
constexpr char kRevokeKeySql[] = R"sql(
UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
 WHERE token_sha256 = $1
)sql";
constexpr char kQueryOwnerSql[] =
    "SELECT license_id FROM queries WHERE schedule_id = $1 FOR UPDATE";
constexpr char kUpsertQuerySql[] = R"sql(
INSERT INTO queries (schedule_id, license_id, status_code, queries_ready,
                     queries_total, finished_at)
VALUES ($1, $2, $3, COALESCE($4, 0), COALESCE($5, 0),
        CASE WHEN $6 THEN now() - make_interval(secs => COALESCE($7::bigint, 0))
        END)
ON CONFLICT (schedule_id) DO UPDATE SET
  status_code   = EXCLUDED.status_code,
  queries_ready = COALESCE($4, queries.queries_ready),
  queries_total = COALESCE($5, queries.queries_total),
  finished_at   = CASE
                    WHEN NOT $6 THEN NULL
                    WHEN $7::bigint IS NOT NULL
                      THEN now() - make_interval(secs => $7::bigint)
                    ELSE COALESCE(queries.finished_at, now())
                  END,
  updated_at    = now()
)sql";
constexpr char kLockRowsSql[] =
    "SELECT total_rows FROM queries WHERE schedule_id = $1 FOR UPDATE";
constexpr char kAddRowsSql[] = R"sql(
UPDATE queries SET total_rows = total_rows + $2, updated_at = now()
 WHERE schedule_id = $1
)sql";
constexpr char kRowCountSql[] =
    "SELECT total_rows FROM queries WHERE schedule_id = $1";
constexpr char kSetQueueSql[] = R"sql(
INSERT INTO license_queues (license_id, tasks_scheduled, tasks_running)
VALUES ($1, $2, $3)
ON CONFLICT (license_id) DO UPDATE SET
  tasks_scheduled = EXCLUDED.tasks_scheduled,
  tasks_running   = EXCLUDED.tasks_running,
  updated_at      = now()
)sql";

constexpr char kMigrationsTableSql[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
)
)sql";
// Any fixed number: concurrent migrate runs serialise on it.
constexpr char kMigrationLockSql[] = "SELECT pg_advisory_lock(727274001)";
constexpr char kMigrationUnlockSql[] = "SELECT pg_advisory_unlock(727274001)";

// Runs fn, turning libpqxx exceptions into errors (PqxxError) whose text is
// fit for an operator (the CLI prints it on stderr).
template <typename T, typename Fn>
Result<T> Guard(Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return PqxxError(e);
  }
}

}  // namespace

AdminStore::AdminStore(std::unique_ptr<pqxx::connection> conn)
    : conn_(std::move(conn)) {}
AdminStore::~AdminStore() = default;

Result<std::unique_ptr<AdminStore>> AdminStore::Connect(
    const std::string& url, std::chrono::milliseconds timeout) {
  return Guard<std::unique_ptr<AdminStore>>([&] {
    auto conn = std::make_unique<pqxx::connection>(WithTimeouts(url, timeout));
    return std::unique_ptr<AdminStore>(new AdminStore(std::move(conn)));
  });
}

Result<int64_t> AdminStore::CreateLicense(const std::string& name,
                                          std::optional<int32_t> rate_limit,
                                          std::optional<int32_t> retention) {
  return Guard<int64_t>([&] {
    pqxx::work tx(*conn_);
    auto row = tx.exec_params1(kCreateLicenseSql, name, rate_limit, retention);
    tx.commit();
    return row[0].as<int64_t>();
  });
}

Result<std::optional<int64_t>> AdminStore::FindLicense(
    const std::string& name) {
  return Guard<std::optional<int64_t>>([&]() -> std::optional<int64_t> {
    pqxx::nontransaction tx(*conn_);
    auto res = tx.exec_params(kFindLicenseSql, name);
    if (res.empty()) return std::nullopt;
    return res[0][0].as<int64_t>();
  });
}

Result<int64_t> AdminStore::CreateKey(int64_t license_id,
                                      const std::string& token_sha256,
                                      std::optional<int32_t> rate_limit,
                                      std::optional<int64_t> expires_in) {
  auto r = Guard<std::optional<int64_t>>([&]() -> std::optional<int64_t> {
    pqxx::work tx(*conn_);
    if (tx.exec_params(kLicenseExistsSql, license_id).empty())
      return std::nullopt;
    auto row = tx.exec_params1(kCreateKeySql, license_id, token_sha256,
                               rate_limit, expires_in);
    tx.commit();
    return row[0].as<int64_t>();
  });
  if (!r.ok()) return r.error();
  if (!r.value()) return Error::NotFound("unknown license");
  return *r.value();
}

Status AdminStore::RevokeKey(const std::string& token_sha256) {
  auto r = Guard<bool>([&] {
    pqxx::work tx(*conn_);
    auto res = tx.exec_params(kRevokeKeySql, token_sha256);
    tx.commit();
    return res.affected_rows() > 0;
  });
  if (!r.ok()) return r.error();
  if (!r.value()) return Error::NotFound("no such key");
  return Status::Ok();
}

Status AdminStore::PutQuery(const QueryPut& put) {
  enum class Outcome { kDone, kNoLicense, kForeign };
  auto r = Guard<Outcome>([&] {
    pqxx::work tx(*conn_);
    if (tx.exec_params(kLicenseExistsSql, put.license_id).empty()) {
      return Outcome::kNoLicense;
    }
    auto owner = tx.exec_params(kQueryOwnerSql, put.schedule_id);
    if (!owner.empty() && owner[0][0].as<int64_t>() != put.license_id) {
      return Outcome::kForeign;
    }
    tx.exec_params(kUpsertQuerySql, put.schedule_id, put.license_id,
                   std::string(QueryStatusName(put.status)), put.queries_ready,
                   put.queries_total, IsFinished(put.status),
                   put.finished_ago_seconds);
    tx.commit();
    return Outcome::kDone;
  });
  if (!r.ok()) return r.error();
  switch (r.value()) {
    case Outcome::kNoLicense:
      return Error::NotFound("unknown license");
    case Outcome::kForeign:
      return Error::InvalidArgument("schedule id belongs to another license");
    case Outcome::kDone:
      break;
  }
  return Status::Ok();
}

Result<int64_t> AdminStore::LoadRows(const std::string& schedule_id,
                                     RowSource& rows) {
  std::optional<Error> source_error;
  auto r = Guard<std::optional<int64_t>>([&]() -> std::optional<int64_t> {
    pqxx::work tx(*conn_);
    auto locked = tx.exec_params(kLockRowsSql, schedule_id);
    if (locked.empty()) return std::nullopt;
    int64_t next = locked[0][0].as<int64_t>();
    int64_t loaded = 0;
    {
      pqxx::stream_to copy(
          tx, "result_rows",
          std::vector<std::string>{"schedule_id", "row_index", "data"});
      for (;;) {
        auto row = rows.Next();
        if (!row.ok()) {
          source_error = row.error();
          // Leaving without complete() and commit() aborts the COPY and
          // rolls the transaction back: nothing of this load is kept.
          return std::nullopt;
        }
        if (!row.value()) break;
        copy << std::make_tuple(schedule_id, next + loaded, *row.value());
        ++loaded;
      }
      copy.complete();
    }
    tx.exec_params(kAddRowsSql, schedule_id, loaded);
    tx.commit();
    return loaded;
  });
  if (source_error) return *source_error;
  if (!r.ok()) return r.error();
  if (!r.value()) return Error::NotFound("unknown schedule id");
  return *r.value();
}

Result<int64_t> AdminStore::QueryRowCount(const std::string& schedule_id) {
  auto r = Guard<std::optional<int64_t>>([&]() -> std::optional<int64_t> {
    pqxx::nontransaction tx(*conn_);
    auto res = tx.exec_params(kRowCountSql, schedule_id);
    if (res.empty()) return std::nullopt;
    return res[0][0].as<int64_t>();
  });
  if (!r.ok()) return r.error();
  if (!r.value()) return Error::NotFound("unknown schedule id");
  return *r.value();
}

Status AdminStore::SetQueue(int64_t license_id, int32_t scheduled,
                            int32_t running) {
  auto r = Guard<bool>([&] {
    pqxx::work tx(*conn_);
    if (tx.exec_params(kLicenseExistsSql, license_id).empty()) return false;
    tx.exec_params(kSetQueueSql, license_id, scheduled, running);
    tx.commit();
    return true;
  });
  if (!r.ok()) return r.error();
  if (!r.value()) return Error::NotFound("unknown license");
  return Status::Ok();
}

Result<std::vector<std::string>> ApplyMigrations(
    const std::string& url, const std::string& dir,
    std::chrono::milliseconds timeout) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error::InvalidArgument("migrations directory not found: " + dir);
  }
  static const std::regex kName(R"(^[0-9]{4}_[a-z0-9_]+\.sql$)");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && std::regex_match(name, kName)) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());

  return Guard<std::vector<std::string>>([&] {
    // Migrations may run long (an index on a big table): no statement timeout.
    pqxx::connection conn(WithTimeouts(url, timeout));
    std::vector<std::string> applied;
    {
      pqxx::nontransaction tx(conn);
      tx.exec(kMigrationsTableSql);
      tx.exec(kMigrationLockSql);
    }
    try {
      for (const fs::path& file : files) {
        std::string version = file.stem().string();
        pqxx::work tx(conn);
        if (!tx.exec_params(
                   "SELECT 1 FROM schema_migrations WHERE version = $1",
                   version)
                 .empty()) {
          continue;
        }
        std::ifstream in(file);
        std::stringstream sql;
        sql << in.rdbuf();
        tx.exec(sql.str());
        tx.exec_params("INSERT INTO schema_migrations (version) VALUES ($1)",
                       version);
        tx.commit();
        applied.push_back(version);
      }
    } catch (...) {
      pqxx::nontransaction unlock(conn);
      unlock.exec(kMigrationUnlockSql);
      throw;
    }
    pqxx::nontransaction tx(conn);
    tx.exec(kMigrationUnlockSql);
    return applied;
  });
}

}  // namespace qs::store
