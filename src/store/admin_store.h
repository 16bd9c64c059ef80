#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "common/query_status.h"
#include "common/status.h"

namespace qs::store {

struct QueryPut {
  int64_t license_id = 0;
  std::string schedule_id;
  QueryStatusCode status = QueryStatusCode::kScheduled;
  std::optional<int32_t> queries_ready;  // unchanged (or 0 when new) if absent
  std::optional<int32_t> queries_total;
  // For a finished status: how long ago it finished (default: now, or keep
  // the earlier finish time if it was already finished).
  std::optional<int64_t> finished_ago_seconds;
};

// Supplies rows to LoadRows one at a time: a JSON object's text, nullopt at
// the end, or an error (which aborts the load; nothing is kept).
class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual Result<std::optional<std::string>> Next() = 0;
};

// The operator commands' writes. One connection, one thread; every method
// runs in its own transaction and never throws.
class AdminStore {
 public:
  static Result<std::unique_ptr<AdminStore>> Connect(
      const std::string& url, std::chrono::milliseconds timeout);
  ~AdminStore();

  Result<int64_t> CreateLicense(const std::string& name,
                                std::optional<int32_t> rate_limit,
                                std::optional<int32_t> retention_seconds);
  // The first license with this name, if any (for the idempotent demo).
  Result<std::optional<int64_t>> FindLicense(const std::string& name);
  // Stores a key by the hash of its token; kNotFound for an unknown license.
  Result<int64_t> CreateKey(int64_t license_id, const std::string& token_sha256,
                            std::optional<int32_t> rate_limit,
                            std::optional<int64_t> expires_in_seconds);
  // kNotFound when no key has this hash.
  Status RevokeKey(const std::string& token_sha256);
  // Creates or updates; kNotFound for an unknown license, kInvalidArgument
  // when the schedule id belongs to another license.
  Status PutQuery(const QueryPut& put);
  // Appends rows with indexes continuing from the query's last row, in one
  // COPY inside one transaction. Returns how many rows were loaded.
  Result<int64_t> LoadRows(const std::string& schedule_id, RowSource& rows);
  Result<int64_t> QueryRowCount(const std::string& schedule_id);
  Status SetQueue(int64_t license_id, int32_t scheduled, int32_t running);

 private:
  explicit AdminStore(std::unique_ptr<pqxx::connection> conn);
  std::unique_ptr<pqxx::connection> conn_;
};

// Applies the numbered migrations (NNNN_name.sql) of `dir` that the database
// has not recorded yet, in order, each in its own transaction, under an
// advisory lock so that concurrent runs wait for each other. Returns the
// names applied (empty when there was nothing to do).
Result<std::vector<std::string>> ApplyMigrations(
    const std::string& url, const std::string& dir,
    std::chrono::milliseconds timeout);

}  // namespace qs::store
