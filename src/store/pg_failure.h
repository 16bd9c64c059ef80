// What a failed PostgreSQL call means to the service: one reading of libpq's
// and libpqxx's failures, for the pool that serves requests and for the
// operator's commands alike.
#pragma once

#include <exception>
#include <string_view>

#include "common/status.h"

namespace qs::store {

struct PgFailure {
  enum class Kind {
    // The connection failed or broke.
    kConnectionLost,
    // The server cancelled the statement (57014: statement_timeout), is
    // shutting down (57P01..57P03) or reports a connection exception (08xxx).
    kNotAnswering,
    // The statement failed with any other SQLSTATE.
    kStatementFailed,
    // A failure without a SQLSTATE on a live connection (out of memory, a
    // protocol surprise).
    kClientError,
  };
  Kind kind;
  // kUnavailable when the database did not answer, timed out or dropped the
  // connection (retrying may help); kInternal otherwise.
  ErrorCode code;
  // Whether the connection is unfit for further use: broken, on its way
  // down, or possibly mid-protocol. Only a statement the server cancelled or
  // refused leaves it usable.
  bool discard;
};

// `connection_ok`: whether the connection is still up after the failure;
// `sqlstate`: the failure's SQLSTATE, empty when it has none.
PgFailure ClassifyPgFailure(bool connection_ok, std::string_view sqlstate);

// The error for an exception from a libpqxx call, classified as above:
// pqxx::broken_connection as a lost connection, pqxx::sql_error by its
// SQLSTATE, anything else as Error::Internal. The internal text quotes the
// exception's, which libpq never makes hold a password; the detail is fit
// for an operator.
Error PqxxError(const std::exception& e);

}  // namespace qs::store
