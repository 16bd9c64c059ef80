#include "store/pg_failure.h"

#include <pqxx/except>
#include <string>

#include "common/text.h"

namespace qs::store {

PgFailure ClassifyPgFailure(bool connection_ok, std::string_view sqlstate) {
  using Kind = PgFailure::Kind;
  if (!connection_ok) {
    return {Kind::kConnectionLost, ErrorCode::kUnavailable, true};
  }
  if (sqlstate == "57014") {
    return {Kind::kNotAnswering, ErrorCode::kUnavailable, false};
  }
  if (StartsWith(sqlstate, "57P") || StartsWith(sqlstate, "08")) {
    return {Kind::kNotAnswering, ErrorCode::kUnavailable, true};
  }
  if (!sqlstate.empty()) {
    return {Kind::kStatementFailed, ErrorCode::kInternal, false};
  }
  return {Kind::kClientError, ErrorCode::kInternal, true};
}

Error PqxxError(const std::exception& e) {
  PgFailure failure;
  std::string internal;
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    failure = ClassifyPgFailure(false, "");
    internal = std::string("PostgreSQL connection failed: ") + e.what();
  } else if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    failure = ClassifyPgFailure(true, sql->sqlstate());
    internal = "PostgreSQL error " + sql->sqlstate() + ": " + e.what();
  } else {
    return Error::Internal(e.what());  // not a failure of PostgreSQL's
  }
  if (failure.code == ErrorCode::kUnavailable) {
    return Error::Unavailable(std::move(internal));
  }
  return Error{ErrorCode::kInternal, "database error", std::move(internal)};
}

}  // namespace qs::store
