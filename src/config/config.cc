#include "config/config.h"

#include <cstdlib>

#include "common/text.h"
#include "log/redact.h"

namespace qs::config {
namespace {

// One setting: its flag, its variable, and how to store a value.
struct Setting {
  const char* flag;
  const char* env;
  std::function<bool(const std::string&, Config&)> apply;
  const char* expectation;  // shown when apply refuses a value
};

template <typename T>
std::function<bool(const std::string&, Config&)> IntSetting(T Config::*field,
                                                            int64_t lo,
                                                            int64_t hi) {
  return [=](const std::string& s, Config& c) {
    int64_t v;
    if (!ParseInteger(s, lo, hi, &v)) return false;
    c.*field = static_cast<T>(v);
    return true;
  };
}

bool ParseHostPort(const std::string& s, HostPort* out) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!IpAddress::Parse(host) && host != "localhost") return false;
  int64_t port;
  if (!ParseInteger(s.substr(colon + 1), 0, 65535, &port)) return false;
  out->host = host == "localhost" ? "127.0.0.1" : host;
  out->port = static_cast<uint16_t>(port);
  return true;
}

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> kSettings{
      {"listen", "QS_LISTEN",
       [](const std::string& s, Config& c) {
         return ParseHostPort(s, &c.listen);
       },
       "an address and port such as 0.0.0.0:8080"},
      {"admin-listen", "QS_ADMIN_LISTEN",
       [](const std::string& s, Config& c) {
         return ParseHostPort(s, &c.admin_listen);
       },
       "an address and port such as 0.0.0.0:9090"},
      {"database-url", "QS_DATABASE_URL",
       [](const std::string& s, Config& c) {
         c.database_url = s;
         // libpq must read the password where the redaction hides it, or an
         // error message of libpq's could quote it.
         return !s.empty() && log::IsSafelyRedactable(s);
       },
       "a libpq URI or conninfo string that libpq accepts, with any '@', "
       "'/', '?' or '&' in a URI's password percent-encoded"},
      {"redis-url", "QS_REDIS_URL",
       [](const std::string& s, Config& c) {
         c.redis_url = s;
         Result<RedisUrl> parsed = ParseRedisUrl(s);
         if (!parsed.ok()) return false;
         c.redis = std::move(parsed).value();
         return true;
       },
       "redis://[[user]:password@]host[:port][/db], or "
       "redis-cluster://[[user]:password@]host[:port][,host[:port]...] with "
       "the seed nodes of a Redis Cluster (a password percent-encoded)"},
      {"rate-limit", "QS_RATE_LIMIT", IntSetting(&Config::rate_limit, 1, 10000),
       "an integer from 1 to 10000"},
      {"unauth-rate-limit", "QS_UNAUTH_RATE_LIMIT",
       IntSetting(&Config::unauth_rate_limit, 1, 10000),
       "an integer from 1 to 10000"},
      {"rate-limit-failure-mode", "QS_RATE_LIMIT_FAILURE_MODE",
       [](const std::string& s, Config& c) {
         if (s == "open") {
           c.rate_limit_failure_mode = FailureMode::kOpen;
         } else if (s == "closed") {
           c.rate_limit_failure_mode = FailureMode::kClosed;
         } else {
           return false;
         }
         return true;
       },
       "open or closed"},
      {"trusted-proxies", "QS_TRUSTED_PROXIES",
       [](const std::string& s, Config& c) {
         c.trusted_proxies.clear();
         bool ok = true;
         ForEachCommaSeparated(s, [&](std::string_view item) {
           if (item.empty() || !ok) return;
           auto cidr = Cidr::Parse(item);
           ok = cidr.has_value();
           if (ok) c.trusted_proxies.push_back(*cidr);
         });
         return ok;
       },
       "a comma-separated list of CIDRs such as 10.0.0.0/8,::1"},
      {"public-base-url", "QS_PUBLIC_BASE_URL",
       [](const std::string& s, Config& c) {
         std::string v = s;
         while (!v.empty() && v.back() == '/') v.pop_back();
         c.public_base_url = v;
         return v.empty() || v.rfind("http://", 0) == 0 ||
                v.rfind("https://", 0) == 0;
       },
       "an http:// or https:// URL"},
      {"log-level", "QS_LOG_LEVEL",
       [](const std::string& s, Config& c) {
         return log::ParseLevel(s, &c.log_level);
       },
       "debug, info, warn or error"},
      {"drain-delay-seconds", "QS_DRAIN_DELAY_SECONDS",
       IntSetting(&Config::drain_delay_seconds, 0, 300), "0 to 300"},
      {"shutdown-timeout-seconds", "QS_SHUTDOWN_TIMEOUT_SECONDS",
       IntSetting(&Config::shutdown_timeout_seconds, 1, 600), "1 to 600"},
      {"database-timeout-ms", "QS_DATABASE_TIMEOUT_MS",
       IntSetting(&Config::database_timeout_ms, 10, 60000), "10 to 60000"},
      {"database-pool-size", "QS_DATABASE_POOL_SIZE",
       IntSetting(&Config::database_pool_size, 1, 256), "1 to 256"},
      {"redis-timeout-ms", "QS_REDIS_TIMEOUT_MS",
       IntSetting(&Config::redis_timeout_ms, 1, 60000), "1 to 60000"},
      {"http-threads", "QS_HTTP_THREADS",
       IntSetting(&Config::http_threads, 1, 64), "1 to 64"},
      {"workers", "QS_WORKERS", IntSetting(&Config::workers, 1, 1024),
       "1 to 1024"},
      {"key-cache-ttl-ms", "QS_KEY_CACHE_TTL_MS",
       IntSetting(&Config::key_cache_ttl_ms, 0, 600000), "0 to 600000"},
      {"key-cache-entries", "QS_KEY_CACHE_ENTRIES",
       IntSetting(&Config::key_cache_entries, 100, 10000000),
       "100 to 10000000"},
      {"status-cache-bytes", "QS_STATUS_CACHE_BYTES",
       IntSetting(&Config::status_cache_bytes, 0, 16LL << 30),
       "0 (off) to 17179869184"},
      {"max-wait-seconds", "QS_MAX_WAIT_SECONDS",
       IntSetting(&Config::max_wait_seconds, 1, 300), "1 to 300"},
      {"max-waiters", "QS_MAX_WAITERS",
       IntSetting(&Config::max_waiters, 0, 1000000), "0 to 1000000"},
      {"max-waiters-per-key", "QS_MAX_WAITERS_PER_KEY",
       IntSetting(&Config::max_waiters_per_key, 0, 100000), "0 to 100000"},
      {"keepalive-timeout-seconds", "QS_KEEPALIVE_TIMEOUT_SECONDS",
       IntSetting(&Config::keepalive_timeout_seconds, 1, 3600), "1 to 3600"},
      {"migrations-dir", "QS_MIGRATIONS_DIR",
       [](const std::string& s, Config& c) {
         c.migrations_dir = s;
         return !s.empty();
       },
       "a directory"},
  };
  return kSettings;
}

}  // namespace

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

Result<Config> Load(Flags& flags, const EnvLookup& getenv) {
  Config c;
  for (const Setting& s : Settings()) {
    std::optional<std::string> value = flags.Take(s.flag);
    std::string source = std::string("--") + s.flag;
    if (!value) {
      value = getenv(s.env);
      source = s.env;
    }
    if (!value) continue;
    if (!s.apply(*value, c)) {
      // The value itself is not echoed: it may be a URL with a password.
      return Error::InvalidArgument("invalid setting " + source +
                                    ": expected " + s.expectation);
    }
  }
  return c;
}

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

}  // namespace qs::config
