// querystatus: wires configuration, clients and services together. No logic
// lives here beyond the order of start-up and shutdown.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "api/status_service.h"
#include "auth/authenticator.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "common/worker_pool.h"
#include "config/config.h"
#include "http/admin_server.h"
#include "http/lifecycle.h"
#include "http/public_server.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "ratelimit/hourly_limiter.h"
#include "ratelimit/redis_window_counter.h"
#include "store/pg_listener.h"
#include "store/pg_pool.h"
#include "store/pg_stores.h"
#include "store/status_cache.h"

namespace {

using qs::config::Config;
using std::chrono::milliseconds;

constexpr size_t kMaxQueuedRequests = 10000;

int Fail(const std::string& what) {
  qs::log::Event(qs::log::Level::kError, "startup_failed", {{"error", what}});
  qs::log::Flush();  // the log line first, then the plain message
  std::cerr << "error: " << what << "\n";
  return 1;
}

int Serve(const Config& c) {
  // SIGTERM and SIGINT are taken by sigwait below; block them before any
  // thread starts so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  qs::ratelimit::RedisOptions redis_options =
      qs::ratelimit::RedisWindowCounter::FromUrl(c.redis);
  redis_options.command_timeout = milliseconds(c.redis_timeout_ms);
  redis_options.connect_timeout = milliseconds(c.redis_timeout_ms);

  qs::metrics::Metrics metrics;
  qs::SystemClock clock;
  qs::store::PgPool pool({c.database_url, c.database_pool_size,
                          milliseconds(c.database_timeout_ms)},
                         qs::store::PrepareServingStatements, metrics);
  qs::store::PgQueryStore database_queries(pool);
  // Status reads are served from a per-instance cache while a listener
  // connection receives change notifications; without it, from PostgreSQL.
  qs::store::CachingQueryStore cached_queries(
      database_queries, clock, metrics,
      {static_cast<size_t>(c.status_cache_bytes), milliseconds(750)});
  qs::store::QueryStore& queries =
      c.status_cache_bytes > 0
          ? static_cast<qs::store::QueryStore&>(cached_queries)
          : database_queries;
  // Held requests (Prefer: wait) wait on the same change feed; with the
  // cache off there is no feed, and nothing is held.
  qs::api::WaitRoom waits({c.max_waiters, c.max_waiters_per_key}, metrics);
  qs::store::PgListener listener(c.database_url,
                                 milliseconds(c.database_timeout_ms),
                                 cached_queries, &waits);
  if (c.status_cache_bytes > 0) listener.Start();
  qs::store::PgKeyStore keys(pool);
  qs::ratelimit::RedisWindowCounter counter(redis_options, metrics);
  qs::ratelimit::HourlyLimiter limiter(counter, clock,
                                       c.rate_limit_failure_mode, metrics);
  qs::auth::AuthenticatorOptions auth_options;
  auth_options.default_rate_limit = c.rate_limit;
  auth_options.cache_ttl = milliseconds(c.key_cache_ttl_ms);
  auth_options.cache_max_entries = static_cast<size_t>(c.key_cache_entries);
  auth_options.negative_cache_max_entries =
      static_cast<size_t>(c.key_cache_entries / 2);
  qs::auth::Authenticator authenticator(keys, clock, metrics, auth_options);
  qs::api::StatusService service(
      authenticator, limiter, queries, metrics,
      {c.unauth_rate_limit, c.public_base_url, c.max_wait_seconds}, &waits);
  waits.SetSink(&service);
  waits.Start();
  // Declared before the workers so that it outlives their tasks, which hold
  // a request's in-flight mark.
  qs::http::Lifecycle lifecycle(&metrics.in_flight());
  qs::WorkerPool workers(c.workers, kMaxQueuedRequests,
                         &metrics.worker_pool_observer());

  bool redis_decides = c.rate_limit_failure_mode == qs::FailureMode::kClosed;
  // Runs on the readiness thread, never on a request thread: each probe
  // waits at most its dependency's timeout.
  auto check = [&pool, &counter, &lifecycle, redis_decides] {
    qs::http::Readiness r;
    if (lifecycle.draining()) {
      r.body = "{\"status\":\"draining\"}";
      return r;
    }
    bool pg_ok = pool.Ping().ok();
    bool redis_ok = counter.Ping().ok();
    r.ready = pg_ok && (redis_ok || !redis_decides);
    r.body = std::string("{\"status\":\"") + (r.ready ? "ready" : "not_ready") +
             "\",\"postgres\":\"" + (pg_ok ? "ok" : "unavailable") +
             "\",\"redis\":\"" + (redis_ok ? "ok" : "unavailable") + "\"}";
    return r;
  };
  qs::http::ReadinessMonitor readiness(check, metrics, milliseconds(500),
                                       milliseconds(1000));
  qs::http::AdminServer admin(c.admin_listen, lifecycle, metrics, readiness);
  qs::http::PublicServer server(
      {c.listen, c.http_threads, c.trusted_proxies,
       std::chrono::seconds(c.keepalive_timeout_seconds)},
      service, workers, lifecycle, metrics);
  // The ready gauge is right from the first scrape, before any probe.
  readiness.Start();
  // The public listener first: once /healthz answers, so does the API.
  if (qs::Status s = server.Start(); !s.ok()) return Fail(s.error().internal);
  if (qs::Status s = admin.Start(); !s.ok()) return Fail(s.error().internal);
  qs::log::Event(
      qs::log::Level::kInfo, "started",
      {{"listen", c.listen.host + ":" + std::to_string(server.port())},
       {"admin_listen",
        c.admin_listen.host + ":" + std::to_string(admin.port())},
       {"database", qs::log::RedactUrl(c.database_url)},
       {"redis", qs::log::RedactUrl(c.redis_url)},
       {"version", QS_VERSION},
       {"commit", QS_GIT_COMMIT}});

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);

  // Drain: fail readiness so the load balancer stops sending, keep serving
  // while it notices, then wait for the requests in flight, then stop.
  qs::log::Event(
      qs::log::Level::kInfo, "drain_started",
      {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"},
       {"drain_delay_seconds", std::to_string(c.drain_delay_seconds)}});
  lifecycle.BeginDrain();
  metrics.ready().Set(0);
  // Held requests are answered now (with Connection: close), not at the
  // end of their waits; nothing is held from here on.
  waits.Drain();
  std::this_thread::sleep_for(std::chrono::seconds(c.drain_delay_seconds));
  lifecycle.StopAccepting();
  qs::log::Event(qs::log::Level::kInfo, "drain_stopped_accepting",
                 {{"in_flight", std::to_string(lifecycle.in_flight())}});
  bool idle =
      lifecycle.WaitIdle(std::chrono::seconds(c.shutdown_timeout_seconds));
  // Producers stop before their consumers, so that nothing calls back into
  // an object already gone, even when the wait above timed out: first what
  // starts work (the readiness probes, the workers, the Redis counter: each
  // answers what it still holds through the normal callbacks, while the
  // listeners can still send), then the listeners (their housekeeping
  // threads first, then the endpoints), then the change feed.
  readiness.Stop();
  waits.Stop();
  workers.Stop();
  counter.Stop();
  server.Shutdown();
  admin.Shutdown();
  listener.Stop();
  qs::log::Event(
      qs::log::Level::kInfo, "stopped",
      {{"in_flight_abandoned", std::to_string(lifecycle.in_flight())},
       {"clean", idle ? "true" : "false"}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that went away must not kill the process (libpq, hiredis and
  // Pistache all write to sockets).
  signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> words, rest;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (rest.empty() && arg.rfind("--", 0) != 0) {
      words.push_back(arg);
    } else {
      rest.push_back(arg);
    }
  }
  if (words.empty() || words[0] == "help" ||
      (!rest.empty() && (rest[0] == "--help" || rest[0] == "-h"))) {
    std::cout << qs::cli::Usage();
    return words.empty() && rest.empty() ? 2 : 0;
  }
  auto flags = qs::config::Flags::Parse(rest);
  if (!flags.ok()) {
    std::cerr << "error: " << flags.error().detail << "\n" << qs::cli::Usage();
    return 2;
  }
  qs::config::Flags command_flags =
      flags.value().Extract(qs::cli::CommandFlagNames(words));
  auto config = qs::config::Load(flags.value(), qs::config::ProcessEnv);
  if (!config.ok()) {
    std::cerr << "error: " << config.error().detail << "\n";
    return 2;
  }
  std::string unknown = flags.value().FirstUnknown();
  if (!unknown.empty()) {
    std::cerr << "error: unknown flag " << unknown << "\n" << qs::cli::Usage();
    return 2;
  }
  qs::log::SetLevel(config.value().log_level);

  if (words.size() == 1 && words[0] == "serve") return Serve(config.value());
  return qs::cli::RunCommand(words, command_flags, config.value(), std::cin,
                             std::cout, std::cerr);
}
