// Command-line flags and settings from the environment.
// Input: lines; those before the first empty line are the arguments, those
// after it NAME=value pairs of the environment.
//
// Properties: Flags::Parse agrees with a reference reading of --name value
// and --name=value (duplicates and stray arguments rejected); parsed flags
// printed back as --name=value parse to the same flags. Load returns every
// setting within its documented range; printing the loaded settings back as
// flags loads the same settings; a flag wins over its variable; an invalid
// setting's message names it.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/flags.h"
#include "fuzz/fuzz_check.h"

namespace {

using qs::config::Config;
using qs::config::Flags;

using FlagMap = std::map<std::string, std::string>;

std::vector<std::string> Lines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string_view::npos) end = s.size();
    out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::optional<FlagMap> ReferenceParse(const std::vector<std::string>& args) {
  FlagMap out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 3 || a[0] != '-' || a[1] != '-') return std::nullopt;
    std::string name, value;
    size_t eq = a.find('=');
    if (eq != std::string::npos) {
      name = a.substr(2, eq - 2);
      value = a.substr(eq + 1);
    } else {
      if (i + 1 == args.size()) return std::nullopt;
      name = a.substr(2);
      value = args[++i];
    }
    if (!out.emplace(name, value).second) return std::nullopt;
  }
  return out;
}

// Empties `flags` into a map, through its public interface only.
FlagMap Drain(Flags& flags) {
  FlagMap out;
  while (true) {
    std::string first = flags.FirstUnknown();
    if (first.empty()) return out;
    QS_FUZZ_CHECK(first.rfind("--", 0) == 0, "FirstUnknown names a flag");
    std::string name = first.substr(2);
    std::optional<std::string> value = flags.Take(name);
    QS_FUZZ_CHECK(value.has_value(), "the first unknown flag can be taken");
    QS_FUZZ_CHECK(!flags.Has(name), "a taken flag is gone");
    out[name] = *value;
  }
}

std::vector<std::string> Print(const FlagMap& m) {
  std::vector<std::string> out;
  for (const auto& [name, value] : m) out.push_back("--" + name + "=" + value);
  return out;
}

const char* FailureModeName(qs::FailureMode m) {
  return m == qs::FailureMode::kOpen ? "open" : "closed";
}

const char* LevelName(qs::log::Level l) {
  switch (l) {
    case qs::log::Level::kDebug:
      return "debug";
    case qs::log::Level::kInfo:
      return "info";
    case qs::log::Level::kWarn:
      return "warn";
    case qs::log::Level::kError:
      return "error";
  }
  return "?";
}

bool ValidHostPort(const qs::config::HostPort& hp) {
  return qs::IpAddress::Parse(hp.host).has_value();
}

void CheckRanges(const Config& c) {
  QS_FUZZ_CHECK(ValidHostPort(c.listen), "listen host is an address");
  QS_FUZZ_CHECK(ValidHostPort(c.admin_listen), "admin host is an address");
  QS_FUZZ_CHECK(!c.database_url.empty(), "database URL set");
  QS_FUZZ_CHECK(c.redis_url.rfind("redis://", 0) == 0 ||
                    c.redis_url.rfind("redis-cluster://", 0) == 0,
                "redis URL is redis:// or redis-cluster://");
  {
    qs::Result<qs::config::RedisUrl> parsed =
        qs::config::ParseRedisUrl(c.redis_url);
    QS_FUZZ_CHECK(parsed.ok(), "the accepted redis URL parses");
    const qs::config::RedisUrl& r = parsed.value();
    QS_FUZZ_CHECK(c.redis.url == c.redis_url && c.redis.nodes == r.nodes &&
                      c.redis.cluster == r.cluster && c.redis.db == r.db &&
                      c.redis.user == r.user && c.redis.password == r.password,
                  "the parsed redis URL is the one configured");
  }
  QS_FUZZ_CHECK(c.rate_limit >= 1 && c.rate_limit <= 10000, "rate limit range");
  QS_FUZZ_CHECK(c.unauth_rate_limit >= 1 && c.unauth_rate_limit <= 10000,
                "unauthenticated rate limit range");
  QS_FUZZ_CHECK(c.public_base_url.empty() ||
                    ((c.public_base_url.rfind("http://", 0) == 0 ||
                      c.public_base_url.rfind("https://", 0) == 0) &&
                     c.public_base_url.back() != '/'),
                "public base URL is http(s) without a trailing slash");
  QS_FUZZ_CHECK(c.drain_delay_seconds >= 0 && c.drain_delay_seconds <= 300,
                "drain delay range");
  QS_FUZZ_CHECK(
      c.shutdown_timeout_seconds >= 1 && c.shutdown_timeout_seconds <= 600,
      "shutdown timeout range");
  QS_FUZZ_CHECK(c.database_timeout_ms >= 10 && c.database_timeout_ms <= 60000,
                "database timeout range");
  QS_FUZZ_CHECK(c.database_pool_size >= 1 && c.database_pool_size <= 256,
                "database pool range");
  QS_FUZZ_CHECK(c.redis_timeout_ms >= 1 && c.redis_timeout_ms <= 60000,
                "redis timeout range");
  QS_FUZZ_CHECK(c.http_threads >= 1 && c.http_threads <= 64, "threads range");
  QS_FUZZ_CHECK(c.workers >= 1 && c.workers <= 1024, "workers range");
  QS_FUZZ_CHECK(c.key_cache_ttl_ms >= 0 && c.key_cache_ttl_ms <= 60000,
                "key cache ttl range");
  QS_FUZZ_CHECK(
      c.status_cache_bytes >= 0 && c.status_cache_bytes <= (int64_t{16} << 30),
      "status cache range");
  QS_FUZZ_CHECK(!c.migrations_dir.empty(), "migrations dir set");
}

// The settings printed back as flags. Trusted proxies have no printed form;
// their text is passed through as it was given.
FlagMap PrintConfig(const Config& c,
                    const std::optional<std::string>& proxies) {
  FlagMap m{
      {"listen", c.listen.ToString()},
      {"admin-listen", c.admin_listen.ToString()},
      {"database-url", c.database_url},
      {"redis-url", c.redis_url},
      {"rate-limit", std::to_string(c.rate_limit)},
      {"unauth-rate-limit", std::to_string(c.unauth_rate_limit)},
      {"rate-limit-failure-mode", FailureModeName(c.rate_limit_failure_mode)},
      {"log-level", LevelName(c.log_level)},
      {"drain-delay-seconds", std::to_string(c.drain_delay_seconds)},
      {"shutdown-timeout-seconds", std::to_string(c.shutdown_timeout_seconds)},
      {"database-timeout-ms", std::to_string(c.database_timeout_ms)},
      {"database-pool-size", std::to_string(c.database_pool_size)},
      {"redis-timeout-ms", std::to_string(c.redis_timeout_ms)},
      {"http-threads", std::to_string(c.http_threads)},
      {"workers", std::to_string(c.workers)},
      {"key-cache-ttl-ms", std::to_string(c.key_cache_ttl_ms)},
      {"status-cache-bytes", std::to_string(c.status_cache_bytes)},
      {"migrations-dir", c.migrations_dir},
  };
  if (!c.public_base_url.empty()) m["public-base-url"] = c.public_base_url;
  if (proxies) m["trusted-proxies"] = *proxies;
  return m;
}

bool SameHostPort(const qs::config::HostPort& a,
                  const qs::config::HostPort& b) {
  return a.host == b.host && a.port == b.port;
}

bool SameConfig(const Config& a, const Config& b) {
  return SameHostPort(a.listen, b.listen) &&
         SameHostPort(a.admin_listen, b.admin_listen) &&
         a.database_url == b.database_url && a.redis_url == b.redis_url &&
         a.rate_limit == b.rate_limit &&
         a.unauth_rate_limit == b.unauth_rate_limit &&
         a.rate_limit_failure_mode == b.rate_limit_failure_mode &&
         a.trusted_proxies.size() == b.trusted_proxies.size() &&
         a.public_base_url == b.public_base_url && a.log_level == b.log_level &&
         a.drain_delay_seconds == b.drain_delay_seconds &&
         a.shutdown_timeout_seconds == b.shutdown_timeout_seconds &&
         a.database_timeout_ms == b.database_timeout_ms &&
         a.database_pool_size == b.database_pool_size &&
         a.redis_timeout_ms == b.redis_timeout_ms &&
         a.http_threads == b.http_threads && a.workers == b.workers &&
         a.key_cache_ttl_ms == b.key_cache_ttl_ms &&
         a.status_cache_bytes == b.status_cache_bytes &&
         a.migrations_dir == b.migrations_dir;
}

qs::Result<Config> LoadFrom(const FlagMap& flags_given, const FlagMap& env) {
  qs::Result<Flags> flags = Flags::Parse(Print(flags_given));
  QS_FUZZ_CHECK(flags.ok(), "printed flags parse");
  return qs::config::Load(
      flags.value(),
      [&](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
      });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> lines =
      Lines(std::string_view(reinterpret_cast<const char*>(data), size));
  std::vector<std::string> args;
  FlagMap env;
  size_t i = 0;
  for (; i < lines.size() && !lines[i].empty(); ++i) args.push_back(lines[i]);
  for (++i; i < lines.size(); ++i) {
    size_t eq = lines[i].find('=');
    if (eq != std::string::npos) {
      env[lines[i].substr(0, eq)] = lines[i].substr(eq + 1);
    }
  }

  qs::Result<Flags> parsed = Flags::Parse(args);
  std::optional<FlagMap> want = ReferenceParse(args);
  QS_FUZZ_CHECK(parsed.ok() == want.has_value(),
                "Flags::Parse accepts what the reference accepts");
  if (!parsed.ok()) {
    QS_FUZZ_CHECK(parsed.error().code == qs::ErrorCode::kInvalidArgument,
                  "a bad command line is InvalidArgument");
    return 0;
  }
  Flags copy = parsed.value();
  FlagMap given = Drain(copy);
  QS_FUZZ_CHECK(given == *want, "Flags::Parse reads what the reference reads");
  qs::Result<Flags> reparsed = Flags::Parse(Print(given));
  QS_FUZZ_CHECK(reparsed.ok(), "flags printed back parse");
  QS_FUZZ_CHECK(Drain(reparsed.value()) == given,
                "flags printed back parse to the same flags");

  qs::Result<Config> loaded = LoadFrom(given, env);
  if (!loaded.ok()) {
    const std::string& message = loaded.error().detail;
    QS_FUZZ_CHECK(loaded.error().code == qs::ErrorCode::kInvalidArgument,
                  "an invalid setting is InvalidArgument");
    QS_FUZZ_CHECK(message.rfind("invalid setting ", 0) == 0,
                  "the message names the setting");
    // (Whether a message repeats a value is not checked here: the fuzzer
    // learns the messages' own fixed text and offers it back as values, so
    // the check cannot tell an echo from a coincidence. Passwords in
    // connection settings are covered by redact_url_fuzz and the redaction
    // tests.)
    return 0;
  }
  const Config& c = loaded.value();
  CheckRanges(c);

  std::optional<std::string> proxies;
  if (auto it = given.find("trusted-proxies"); it != given.end()) {
    proxies = it->second;
  } else if (auto e = env.find("QS_TRUSTED_PROXIES"); e != env.end()) {
    proxies = e->second;
  }
  FlagMap printed = PrintConfig(c, proxies);
  qs::Result<Config> again = LoadFrom(printed, {});
  QS_FUZZ_CHECK(again.ok(), "settings printed back load");
  QS_FUZZ_CHECK(SameConfig(c, again.value()),
                "settings printed back load the same settings");

  // Each setting printed as a flag wins over a conflicting variable.
  FlagMap conflicting;
  for (const char* var : {"QS_RATE_LIMIT", "QS_LISTEN", "QS_LOG_LEVEL",
                          "QS_REDIS_URL", "QS_WORKERS"}) {
    conflicting[var] = "not a valid value";
  }
  qs::Result<Config> flag_wins = LoadFrom(printed, conflicting);
  QS_FUZZ_CHECK(flag_wins.ok() && SameConfig(c, flag_wins.value()),
                "a flag wins over its variable");
  return 0;
}
