#include "store/pg_pool.h"

#include <charconv>
#include <cstring>
#include <exception>

#include "log/log.h"
#include "log/redact.h"
#include "store/pg_failure.h"

namespace qs::store {

std::string WithTimeouts(const std::string& url,
                         std::chrono::milliseconds timeout) {
  // libpq's connect_timeout is whole seconds, and values below 2 are raised
  // to 2 by libpq itself.
  long connect_s = std::max<long>(2, (timeout.count() + 999) / 1000);
  std::string params[] = {
      "connect_timeout=" + std::to_string(connect_s),
      "tcp_user_timeout=" + std::to_string(timeout.count()),
      "keepalives=1",
      "keepalives_idle=10",
      "keepalives_interval=5",
      "keepalives_count=3",
  };
  std::string out = url;
  for (const std::string& p : params) {
    std::string key = p.substr(0, p.find('=') + 1);
    if (out.find(key) != std::string::npos) continue;  // the operator's wins
    out = WithOption(out, p);
  }
  return out;
}

std::string WithOption(const std::string& conninfo, std::string_view option) {
  std::string out = conninfo;
  if (log::IsLibpqUri(conninfo)) {
    out += conninfo.find('?') == std::string::npos ? '?' : '&';
  } else {
    out += ' ';
  }
  out += option;
  return out;
}

bool PgRows::IsNull(int row, int column) const {
  return !result_ || PQgetisnull(result_.get(), row, column) != 0;
}

std::string_view PgRows::Text(int row, int column) const {
  if (IsNull(row, column)) return {};
  return {PQgetvalue(result_.get(), row, column),
          static_cast<size_t>(PQgetlength(result_.get(), row, column))};
}

std::optional<int64_t> PgRows::Int(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  std::string_view text = Text(row, column);
  int64_t value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<bool> PgRows::Bool(int row, int column) const {
  std::string_view text = Text(row, column);
  if (IsNull(row, column) || text.size() != 1) return std::nullopt;
  if (text[0] == 't') return true;
  if (text[0] == 'f') return false;
  return std::nullopt;
}

std::string PgConnection::ErrorMessage() const {
  std::string message = conn_ ? PQerrorMessage(conn_.get()) : "out of memory";
  while (!message.empty() &&
         (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  return message;
}

PgRows PgConnection::Exec(const std::string& sql) {
  return PgRows(PQexec(conn_.get(), sql.c_str()));
}

PgRows PgConnection::Prepare(const char* name, const char* sql) {
  return PgRows(PQprepare(conn_.get(), name, sql, 0, nullptr));
}

PgRows PgConnection::ExecPrepared(const char* name,
                                  const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());
  return PgRows(PQexecPrepared(conn_.get(), name,
                               static_cast<int>(values.size()), values.data(),
                               nullptr, nullptr, 0));
}

bool PgConnection::ConsumeInput() {
  return PQconsumeInput(conn_.get()) == 1 && ok();
}

std::optional<std::string> PgConnection::NextNotification(const char* channel) {
  while (PGnotify* n = PQnotifies(conn_.get())) {
    std::unique_ptr<PGnotify, void (*)(void*)> owned(n, PQfreemem);
    if (std::strcmp(n->relname, channel) == 0) return std::string(n->extra);
  }
  return std::nullopt;
}

PgPool::PgPool(PgPoolOptions options, Prepare prepare,
               metrics::Metrics& metrics)
    : options_(std::move(options)),
      conninfo_(WithTimeouts(options_.url, options_.timeout)),
      prepare_(std::move(prepare)),
      metrics_(metrics),
      wait_(metrics.PoolWait(metrics::Pool::kPostgres)),
      wait_timeouts_(metrics.PoolWaitTimeouts(metrics::Pool::kPostgres)),
      idle_(metrics.PoolConnections(metrics::Pool::kPostgres,
                                    metrics::PoolState::kIdle)),
      in_use_(metrics.PoolConnections(metrics::Pool::kPostgres,
                                      metrics::PoolState::kInUse)) {
  conns_.resize(options_.size);
  for (int i = options_.size - 1; i >= 0; --i) free_.push_back(i);
}

PgPool::~PgPool() = default;

void PgPool::UpdateGauges() {
  // Leased slots count as in use even while they connect.
  in_use_.Set(options_.size - static_cast<int>(free_.size()));
  int idle = 0;
  for (int slot : free_) idle += conns_[slot] != nullptr;
  idle_.Set(idle);
}

Result<PgPool::Lease> PgPool::Acquire(metrics::PostgresOperation operation) {
  auto start = std::chrono::steady_clock::now();
  int slot;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, options_.timeout, [&] { return !free_.empty(); })) {
      wait_timeouts_.Increment();
      metrics_.PostgresErrors(operation).Increment();
      return Error::Unavailable("no PostgreSQL connection free within timeout");
    }
    slot = free_.back();
    free_.pop_back();
    UpdateGauges();
  }
  wait_.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count());
  if (!conns_[slot]) {
    auto conn = std::make_unique<PgConnection>(conninfo_);
    bool broken = true;
    Status error;
    if (!conn->ok()) {
      metrics_.PostgresErrors(operation).Increment();
      log::Event(log::Level::kWarn, "postgres_unavailable",
                 {{"operation", metrics::LabelValue(operation)},
                  {"error", conn->ErrorMessage()}});
      error = Error::Unavailable("PostgreSQL connection failed");
    } else {
      // Setting up is bounded as a statement is, by one deadline for all.
      error = deadlines_.Within(
          conn->sock(), std::chrono::steady_clock::now() + options_.timeout,
          [&] {
            Status set_up =
                Check(operation, *conn,
                      conn->Exec("SET statement_timeout = " +
                                 std::to_string(options_.timeout.count())),
                      &broken);
            if (set_up.ok() && prepare_) {
              set_up = Check(operation, *conn, prepare_(*conn), &broken);
            }
            return set_up;
          });
    }
    if (!error.ok()) {
      Release({slot, nullptr}, true);
      return error.error();
    }
    conns_[slot] = std::move(conn);
    log::Event(log::Level::kInfo, "postgres_connected");
  }
  return Lease{slot, conns_[slot].get()};
}

void PgPool::Release(const Lease& lease, bool broken) {
  std::lock_guard<std::mutex> lock(mu_);
  if (broken) conns_[lease.slot].reset();
  free_.push_back(lease.slot);
  UpdateGauges();
  cv_.notify_one();
}

Result<PgRows> PgPool::Run(metrics::PostgresOperation operation,
                           const Statement& statement) {
  auto lease = Acquire(operation);
  if (!lease.ok()) return lease.error();
  PgConnection& conn = *lease.value().conn;
  auto& histogram = metrics_.PostgresDuration(operation);
  auto start = std::chrono::steady_clock::now();
  // Half a timeout of grace over statement_timeout, so the server's own
  // cancellation (which keeps the connection) wins when it can. Within
  // disarms before Release: once released, the connection may be closed and
  // its fd number reused.
  PgRows rows(nullptr);
  try {
    rows = deadlines_.Within(
        conn.sock(), start + options_.timeout + options_.timeout / 2,
        [&] { return statement(conn); });
  } catch (const std::exception& e) {
    // Out of memory while building a statement's parameters, say: the
    // connection may be mid-protocol, so it is discarded, but its slot goes
    // back to the pool either way.
    metrics_.PostgresErrors(operation).Increment();
    Release(lease.value(), /*broken=*/true);
    log::Event(log::Level::kError, "postgres_error",
               {{"error", std::string("statement threw: ") + e.what()}});
    return Error::Internal("PostgreSQL statement threw");
  }
  bool broken = false;
  Status error = Check(operation, conn, rows, &broken);
  if (error.ok()) {
    histogram.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }
  Release(lease.value(), broken);
  if (!error.ok()) return error.error();
  return rows;
}

Status PgPool::Check(metrics::PostgresOperation operation,
                     const PgConnection& conn, const PgRows& rows,
                     bool* broken) {
  ExecStatusType status =
      rows.raw() ? PQresultStatus(rows.raw()) : PGRES_FATAL_ERROR;
  if (conn.ok() && (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)) {
    return Status::Ok();
  }
  metrics_.PostgresErrors(operation).Increment();
  const char* sqlstate =
      rows.raw() ? PQresultErrorField(rows.raw(), PG_DIAG_SQLSTATE) : nullptr;
  std::string state = sqlstate ? sqlstate : "";
  PgFailure failure = ClassifyPgFailure(conn.ok(), state);
  *broken = failure.discard;
  // Logged with libpq's own words only; libpq never includes the password.
  switch (failure.kind) {
    case PgFailure::Kind::kConnectionLost:
      log::Event(log::Level::kWarn, "postgres_unavailable",
                 {{"operation", metrics::LabelValue(operation)},
                  {"error", conn.ErrorMessage()}});
      return Error::Unavailable("PostgreSQL connection failed");
    case PgFailure::Kind::kNotAnswering:
      log::Event(
          log::Level::kWarn, "postgres_unavailable",
          {{"operation", metrics::LabelValue(operation)}, {"sqlstate", state}});
      return Error::Unavailable("PostgreSQL did not answer");
    case PgFailure::Kind::kStatementFailed:
      log::Event(log::Level::kError, "postgres_error",
                 {{"operation", metrics::LabelValue(operation)},
                  {"sqlstate", state},
                  {"error", conn.ErrorMessage()}});
      return Error::Internal("PostgreSQL error " + state);
    case PgFailure::Kind::kClientError:
      break;
  }
  log::Event(log::Level::kError, "postgres_error",
             {{"operation", metrics::LabelValue(operation)},
              {"error", conn.ErrorMessage()}});
  return Error::Internal("PostgreSQL client error");
}

Status PgPool::Ping() {
  auto r = Run(metrics::PostgresOperation::kPing,
               [](PgConnection& c) { return c.Exec("SELECT 1"); });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

}  // namespace qs::store
