#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/cidr.h"
#include "common/failure_mode.h"
#include "common/status.h"
#include "config/flags.h"
#include "config/redis_url.h"
#include "log/log.h"

namespace qs::config {

struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;
};

// The service's settings, validated once at start-up. Immutable after Load.
struct Config {
  HostPort listen{"0.0.0.0", 8080};
  HostPort admin_listen{"0.0.0.0", 9090};
  std::string database_url = "postgresql://localhost/querystatus";
  std::string redis_url = "redis://localhost:6379/0";
  // redis_url, parsed (Load refuses a URL that does not parse).
  RedisUrl redis = ParseRedisUrl("redis://localhost:6379/0").value();
  int32_t rate_limit = 5000;
  int32_t unauth_rate_limit = 1000;
  FailureMode rate_limit_failure_mode = FailureMode::kOpen;
  std::vector<Cidr> trusted_proxies;
  std::string public_base_url;  // empty: path-absolute links
  log::Level log_level = log::Level::kInfo;
  int drain_delay_seconds = 5;
  int shutdown_timeout_seconds = 30;
  int database_timeout_ms = 2000;
  int database_pool_size = 16;
  int redis_timeout_ms = 200;
  int http_threads = 2;
  int workers = 16;
  int key_cache_ttl_ms = 5000;
  // Keys the cache holds; unknown tokens have a cache of half this size.
  int key_cache_entries = 100000;
  // Per-instance status cache (0 turns it off).
  int64_t status_cache_bytes = 64LL << 20;
  std::string migrations_dir = "migrations";
  // Prefer: wait. The longest wait allowed, and how many requests may be
  // held at once: per instance, and per key (0 holds none).
  int max_wait_seconds = 50;
  int max_waiters = 10000;
  int max_waiters_per_key = 10;
  // An idle keep-alive connection of the public listener is closed after
  // this long (keep it above the load balancer's idle timeout).
  int keepalive_timeout_seconds = 75;
};

// Reads every setting from `flags` (taking the ones it knows) and from the
// environment through `getenv`; a flag wins over its variable. An invalid
// value is an error whose text names the setting.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
Result<Config> Load(Flags& flags, const EnvLookup& getenv);

// The process environment.
std::optional<std::string> ProcessEnv(const std::string& name);

}  // namespace qs::config
