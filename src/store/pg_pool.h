#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "metrics/metrics.h"
#include "store/socket_deadlines.h"

namespace qs::store {

struct PgPoolOptions {
  std::string url;
  int size = 16;
  // Bounds every wait: for a free connection, for connecting, and (as
  // statement_timeout) for each statement.
  std::chrono::milliseconds timeout{2000};
};

// `conninfo` with `option` ("key=value", the value needing no quotes) added
// in its syntax: after '?' or '&' in a URI, after a space in key=value form.
std::string WithOption(const std::string& conninfo, std::string_view option);

// The connection string with timeouts added, so that no libpq call can block
// for long: connect_timeout, tcp_user_timeout and keepalives. statement
// timeout is set per connection after connecting.
std::string WithTimeouts(const std::string& url,
                         std::chrono::milliseconds timeout);

// The rows a statement answered. Owns its libpq result from the moment libpq
// hands it over, whatever happens next, and outlives the connection it came
// from (a libpq result is independent of its connection).
class PgRows {
 public:
  explicit PgRows(PGresult* result) : result_(result) {}

  int size() const { return result_ ? PQntuples(result_.get()) : 0; }
  bool empty() const { return size() == 0; }
  bool IsNull(int row, int column) const;
  // The field as text; empty when null.
  std::string_view Text(int row, int column) const;
  // The field as an integer; nullopt when null or not an integer.
  std::optional<int64_t> Int(int row, int column) const;
  // The field as a boolean (PostgreSQL's text form: t or f); nullopt when
  // null or neither.
  std::optional<bool> Bool(int row, int column) const;

  const PGresult* raw() const { return result_.get(); }

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> result_;
};

// One libpq connection of the pool, used by one thread at a time.
//
// The pool speaks libpq directly rather than through libpqxx: libpqxx 6.4
// builds its result object (pqxx::connection_base::make_result) only after
// asking for the client encoding, which throws broken_connection when the
// connection broke during the call (PQclientEncoding answers -1 once the
// connection is bad), and then the PGresult libpq returned has no owner and
// leaks: one per connection that breaks mid-statement. Here every result is
// owned by a PgRows before anything else is looked at.
class PgConnection {
 public:
  // Connects (blocking, bounded by the connect_timeout in `conninfo`).
  explicit PgConnection(const std::string& conninfo)
      : conn_(PQconnectdb(conninfo.c_str())) {}
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // False once the connection failed or broke; it is then only fit to be
  // thrown away.
  bool ok() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }
  int sock() const { return conn_ ? PQsocket(conn_.get()) : -1; }
  // libpq's last error message, without its trailing newline.
  std::string ErrorMessage() const;

  // One statement without parameters (simple query protocol).
  PgRows Exec(const std::string& sql);
  // Prepares statement `name` on this connection.
  PgRows Prepare(const char* name, const char* sql);
  // Runs prepared statement `name` with text parameters.
  PgRows ExecPrepared(const char* name, const std::vector<std::string>& params);

  // Reads whatever the server sent, without blocking (for a LISTENing
  // connection whose socket polled readable); false once it broke.
  bool ConsumeInput();
  // The payload of the next notification received on `channel`, if any;
  // notifications on other channels are dropped.
  std::optional<std::string> NextNotification(const char* channel);

 private:
  struct Finish {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  std::unique_ptr<PGconn, Finish> conn_;
};

// A fixed-size pool of PostgreSQL connections. Each connection is used by one
// thread at a time. Connections are made lazily, prepared once each (by
// `prepare`), and thrown away when they break; the next use reconnects, so
// the pool heals by itself after a database restart.
class PgPool {
 public:
  // Prepares what the connection's users need on a new connection. Returns
  // libpq's answer to the first statement that failed, else to the last; a
  // failure discards the connection and fails the call that was connecting.
  using Prepare = std::function<PgRows(PgConnection&)>;
  // One statement on a leased connection: returns libpq's answer, and
  // must not keep the connection.
  using Statement = std::function<PgRows(PgConnection&)>;

  PgPool(PgPoolOptions options, Prepare prepare, metrics::Metrics& metrics);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Runs `statement` on a connection and returns its rows. A failure to get
  // or use a connection becomes kUnavailable (the database did not answer,
  // timed out or dropped the connection) or kInternal (anything else),
  // counted under `operation` in the metrics.
  Result<PgRows> Run(metrics::PostgresOperation operation,
                     const Statement& statement);

  // A trivial round trip, for readiness.
  Status Ping();

 private:
  struct Lease {
    int slot = -1;
    PgConnection* conn = nullptr;
  };
  Result<Lease> Acquire(metrics::PostgresOperation operation);
  // `broken` discards the connection.
  void Release(const Lease& lease, bool broken);
  // The error of a statement that did not succeed, or nullopt; sets
  // `broken` when the connection is no longer usable.
  Status Check(metrics::PostgresOperation operation, const PgConnection& conn,
               const PgRows& rows, bool* broken);
  void UpdateGauges();

  PgPoolOptions options_;
  std::string conninfo_;
  Prepare prepare_;
  metrics::Metrics& metrics_;
  prometheus::Histogram& wait_;
  prometheus::Counter& wait_timeouts_;
  prometheus::Gauge& idle_;
  prometheus::Gauge& in_use_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> conns_;
  std::vector<int> free_;  // slots not leased; their connection may be null
  SocketDeadlines deadlines_;
};

}  // namespace qs::store
