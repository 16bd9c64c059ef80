#include "store/pg_listener.h"

#include <pqxx/pqxx>

#include "log/log.h"
#include "store/pg_pool.h"

namespace qs::store {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, CachingQueryStore& cache)
      : pqxx::notification_receiver(c, PgListener::kChannel), cache_(cache) {}
  void operator()(const std::string& payload, int) override {
    cache_.Invalidate(payload);
  }

 private:
  CachingQueryStore& cache_;
};

std::string WithApplicationName(const std::string& conninfo) {
  bool is_uri = conninfo.rfind("postgresql://", 0) == 0 ||
                conninfo.rfind("postgres://", 0) == 0;
  if (is_uri) {
    return conninfo + (conninfo.find('?') == std::string::npos ? "?" : "&") +
           "application_name=querystatus-listener";
  }
  return conninfo + " application_name=querystatus-listener";
}

}  // namespace

PgListener::PgListener(std::string database_url,
                       std::chrono::milliseconds timeout,
                       CachingQueryStore& cache,
                       std::chrono::milliseconds heartbeat)
    : conninfo_(WithApplicationName(WithTimeouts(database_url, timeout))),
      timeout_(timeout),
      cache_(cache),
      heartbeat_(heartbeat) {}

PgListener::~PgListener() { Stop(); }

void PgListener::Start() {
  thread_ = std::thread([this] { Run(); });
}

void PgListener::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool PgListener::SleepUnlessStopping(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void PgListener::Run() {
  std::chrono::milliseconds backoff(100);
  bool was_up = false;
  while (!stopping_.load()) {
    try {
      pqxx::connection conn(conninfo_);
      {
        pqxx::nontransaction tx(conn);
        tx.exec("SET statement_timeout = " + std::to_string(timeout_.count()));
      }
      Receiver receiver(conn, cache_);  // issues LISTEN
      {
        // A round trip after LISTEN: from here on no commit is missed.
        pqxx::nontransaction tx(conn);
        tx.exec("SELECT 1");
      }
      cache_.MarkLive();
      log::Event(log::Level::kInfo, was_up ? "status_listener_reconnected"
                                           : "status_listener_connected");
      was_up = true;
      backoff = std::chrono::milliseconds(100);
      auto last_beat = std::chrono::steady_clock::now();
      while (!stopping_.load()) {
        long us = static_cast<long>(heartbeat_.count()) * 1000;
        int got = conn.await_notification(us / 1000000, us % 1000000);
        auto now = std::chrono::steady_clock::now();
        if (got > 0) cache_.MarkLive();
        if (now - last_beat >= heartbeat_) {
          // A silent server must not hang the heartbeat: past the timeout
          // the socket is shut down and the connection replaced.
          int armed = deadlines_.Arm(conn.sock(), now + timeout_);
          try {
            pqxx::nontransaction tx(conn);
            tx.exec("SELECT 1");
          } catch (...) {
            deadlines_.Disarm(armed);
            throw;
          }
          deadlines_.Disarm(armed);
          conn.get_notifs();
          cache_.MarkLive();
          last_beat = now;
        }
      }
    } catch (const std::exception& e) {
      cache_.SetDisconnected();
      log::Event(log::Level::kWarn, "status_listener_down",
                 {{"error", e.what()},
                  {"retry_in_ms", std::to_string(backoff.count())}});
      if (!SleepUnlessStopping(backoff)) break;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
  cache_.SetDisconnected();
}

}  // namespace qs::store
