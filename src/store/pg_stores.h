#pragma once

#include "store/key_store.h"
#include "store/pg_pool.h"
#include "store/query_store.h"

namespace qs::store {

// Prepares the statements the request path uses on a fresh connection (a
// PgPool::Prepare).
PgRows PrepareServingStatements(PgConnection& conn);

// The QueryStore of the request path: one prepared statement, one round
// trip, for the state, the license's queue counts and a page of rows.
class PgQueryStore final : public QueryStore {
 public:
  explicit PgQueryStore(PgPool& pool) : pool_(pool) {}
  Result<SnapshotPtr> ReadStatus(const StatusLookup& lookup) override;

 private:
  PgPool& pool_;
};

class PgKeyStore final : public KeyStore {
 public:
  explicit PgKeyStore(PgPool& pool) : pool_(pool) {}
  Result<std::optional<KeyRecord>> FindByTokenHash(
      const std::string& token_hash) override;

 private:
  PgPool& pool_;
};

}  // namespace qs::store
