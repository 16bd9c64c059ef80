#include "store/pg_listener.h"

#include <poll.h>

#include <cerrno>

#include "log/log.h"

namespace qs::store {

PgListener::PgListener(std::string database_url,
                       std::chrono::milliseconds timeout,
                       CachingQueryStore& cache, ChangeListener* also,
                       std::chrono::milliseconds heartbeat)
    : conninfo_(WithOption(WithTimeouts(database_url, timeout),
                           "application_name=querystatus-listener")),
      timeout_(timeout),
      cache_(cache),
      also_(also),
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

std::optional<std::string> PgListener::Exec(PgConnection& conn,
                                            const std::string& sql) {
  // A silent server must not hang the listener: past the timeout the socket
  // is shut down and the connection replaced.
  PgRows rows = deadlines_.Within(conn.sock(),
                                  std::chrono::steady_clock::now() + timeout_,
                                  [&] { return conn.Exec(sql); });
  ExecStatusType status =
      rows.raw() ? PQresultStatus(rows.raw()) : PGRES_FATAL_ERROR;
  if (conn.ok() && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)) {
    return std::nullopt;
  }
  return conn.ErrorMessage();
}

bool PgListener::DrainNotifications(PgConnection& conn) {
  bool any = false;
  while (auto payload = conn.NextNotification(kChannel)) {
    cache_.Invalidate(*payload);
    if (also_ != nullptr) also_->Changed(*payload);
    any = true;
  }
  return any;
}

std::string PgListener::Listen(bool* was_up,
                               std::chrono::milliseconds* backoff) {
  PgConnection conn(conninfo_);
  if (!conn.ok()) return conn.ErrorMessage();
  // The round trip after LISTEN: from its answer on no commit is missed.
  for (const std::string& sql :
       {"SET statement_timeout = " + std::to_string(timeout_.count()),
        std::string("LISTEN \"") + kChannel + "\"", std::string("SELECT 1")}) {
    if (auto error = Exec(conn, sql)) return *error;
  }
  cache_.MarkLive();
  if (also_ != nullptr) also_->FeedUp();
  log::Event(log::Level::kInfo, *was_up ? "status_listener_reconnected"
                                        : "status_listener_connected");
  *was_up = true;
  *backoff = std::chrono::milliseconds(100);
  auto last_beat = std::chrono::steady_clock::now();
  while (!stopping_.load()) {
    pollfd readable{conn.sock(), POLLIN, 0};
    int ready = poll(&readable, 1, static_cast<int>(heartbeat_.count()));
    if (ready < 0 && errno != EINTR) return std::string("poll failed");
    if (ready > 0 && !conn.ConsumeInput()) return conn.ErrorMessage();
    if (DrainNotifications(conn)) cache_.MarkLive();
    auto now = std::chrono::steady_clock::now();
    if (now - last_beat >= heartbeat_) {
      if (auto error = Exec(conn, "SELECT 1")) return *error;
      DrainNotifications(conn);  // any that came with the answer
      cache_.MarkLive();
      last_beat = now;
    }
  }
  return "";
}

void PgListener::Run() {
  std::chrono::milliseconds backoff(100);
  bool was_up = false;
  while (!stopping_.load()) {
    std::string error;
    try {
      error = Listen(&was_up, &backoff);
    } catch (const std::exception& e) {  // out of memory, at worst
      error = e.what();
    }
    if (stopping_.load()) break;
    cache_.SetDisconnected();
    if (also_ != nullptr) also_->FeedDown();
    log::Event(
        log::Level::kWarn, "status_listener_down",
        {{"error", error}, {"retry_in_ms", std::to_string(backoff.count())}});
    if (!SleepUnlessStopping(backoff)) break;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
  cache_.SetDisconnected();
  if (also_ != nullptr) also_->FeedDown();
}

}  // namespace qs::store
