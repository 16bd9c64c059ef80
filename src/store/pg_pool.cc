#include "store/pg_pool.h"

#include "log/log.h"

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
  bool is_uri =
      url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  for (const std::string& p : params) {
    std::string key = p.substr(0, p.find('=') + 1);
    if (out.find(key) != std::string::npos) continue;  // the operator's wins
    if (is_uri) {
      out += out.find('?') == std::string::npos ? '?' : '&';
      out += p;
    } else {
      out += ' ';
      out += p;
    }
  }
  return out;
}

PgPool::PgPool(PgPoolOptions options, Prepare prepare,
               metrics::Metrics& metrics)
    : options_(std::move(options)),
      conninfo_(WithTimeouts(options_.url, options_.timeout)),
      prepare_(std::move(prepare)),
      metrics_(metrics),
      wait_(metrics.PoolWait("postgres")),
      wait_timeouts_(metrics.PoolWaitTimeouts("postgres")),
      idle_(metrics.PoolConnections("postgres", "idle")),
      in_use_(metrics.PoolConnections("postgres", "in_use")) {
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

Result<PgPool::Lease> PgPool::Acquire(const std::string& operation) {
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
    try {
      auto conn = std::make_unique<pqxx::connection>(conninfo_);
      int armed = deadlines_.Arm(
          conn->sock(), std::chrono::steady_clock::now() + options_.timeout);
      try {
        pqxx::nontransaction tx(*conn);
        tx.exec("SET statement_timeout = " +
                std::to_string(options_.timeout.count()));
      } catch (...) {
        deadlines_.Disarm(armed);
        throw;
      }
      deadlines_.Disarm(armed);
      if (prepare_) prepare_(*conn);
      conns_[slot] = std::move(conn);
      log::Event(log::Level::kInfo, "postgres_connected");
    } catch (const std::exception& e) {
      bool broken = true;
      Error error = Classify(operation, e, &broken);
      Release({slot, nullptr}, true);
      return error;
    }
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

Error PgPool::Classify(const std::string& operation, const std::exception& e,
                       bool* broken) {
  metrics_.PostgresErrors(operation).Increment();
  // Logged without the message of a broken connection's exception text
  // beyond libpq's own words; libpq never includes the password.
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    *broken = true;
    log::Event(log::Level::kWarn, "postgres_unavailable",
               {{"operation", operation}, {"error", e.what()}});
    return Error::Unavailable("PostgreSQL connection failed");
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    // 57014 query_canceled (statement_timeout), 57P01..03 admin shutdown,
    // 08xxx connection exceptions: the database is not answering.
    const std::string& state = sql->sqlstate();
    if (state == "57014" || state.rfind("57P", 0) == 0 ||
        state.rfind("08", 0) == 0) {
      *broken = state != "57014";
      log::Event(log::Level::kWarn, "postgres_unavailable",
                 {{"operation", operation}, {"sqlstate", state}});
      return Error::Unavailable("PostgreSQL did not answer");
    }
    log::Event(log::Level::kError, "postgres_error",
               {{"operation", operation},
                {"sqlstate", state},
                {"error", sql->what()}});
    return Error::Internal("PostgreSQL error " + state);
  }
  // Anything else may have left the connection mid-protocol: discard it.
  *broken = true;
  log::Event(log::Level::kError, "postgres_error",
             {{"operation", operation}, {"error", e.what()}});
  return Error::Internal(std::string("PostgreSQL client error"));
}

Status PgPool::Ping() {
  auto r = Run<bool>("ping", [](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec("SELECT 1");
    return true;
  });
  if (!r.ok()) return r.error();
  return std::nullopt;
}

}  // namespace qs::store
