#include "ratelimit/redis_window_counter.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <initializer_list>
#include <utility>

#include "common/await.h"
#include "log/log.h"

namespace qs::ratelimit {
namespace {

// INCR the window's key; on the first hit also set it to expire a minute
// after the window ends, so the count outlives every request of the window
// and then frees itself. Atomic in Redis, which is what makes the limit exact
// across instances.
constexpr std::string_view kIncrScript =
    "local n = redis.call('INCR', KEYS[1]) "
    "if n == 1 then redis.call('EXPIREAT', KEYS[1], ARGV[1]) end "
    "return n";
constexpr int64_t kExpiryGraceSeconds = 60;
constexpr char kKeyPrefix[] = "qs:rl:";

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// One blocking command. Null means the connection failed (see ctx->errstr);
// an error reply is a reply.
ReplyPtr Command(redisContext* ctx,
                 std::initializer_list<std::string_view> args) {
  const char* argv[8];
  size_t lens[8];
  int argc = 0;
  for (std::string_view a : args) {
    if (argc == 8) return nullptr;  // a bug in this file, not an I/O error
    argv[argc] = a.data();
    lens[argc] = a.size();
    ++argc;
  }
  return ReplyPtr(
      static_cast<redisReply*>(redisCommandArgv(ctx, argc, argv, lens)));
}

std::string ReplyText(const redisReply& r) {
  return r.str ? std::string(r.str, r.len) : std::string();
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

timeval ToTimeval(std::chrono::milliseconds ms) {
  if (ms.count() < 1) ms = std::chrono::milliseconds(1);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// --- URL parsing ---

Error UrlError(std::string what) {
  return Error{ErrorCode::kInvalidArgument, "Invalid Redis URL",
               "redis url (redis://[[user]:password@]host[:port][/db]): " +
                   std::move(what)};
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      *out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

// Digits only, at most `max_digits` of them, value in [lo, hi].
bool ParseNumber(std::string_view s, size_t max_digits, int64_t lo, int64_t hi,
                 int64_t* out) {
  if (s.empty() || s.size() > max_digits) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool ValidHostName(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
           c == '-' || c == '_';
  });
}

bool ValidIpv6(std::string_view h) {
  if (h.empty() || h.find(':') == std::string_view::npos) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
  });
}

}  // namespace

Result<RedisOptions> RedisWindowCounter::ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (StartsWith(url, "rediss://")) {
    return UrlError("TLS (rediss://) is not supported");
  }
  if (!StartsWith(url, kScheme)) return UrlError("must start with redis://");
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return UrlError("query strings and fragments are not supported");
  }

  RedisOptions o;
  o.url = std::string(url);

  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos
                              ? std::string_view()
                              : rest.substr(slash + 1);

  size_t at = authority.rfind('@');
  std::string_view hostport = authority;
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    hostport = authority.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return UrlError(
          "credentials need a colon before the password "
          "(redis://:password@host or redis://user:password@host)");
    }
    if (!PercentDecode(userinfo.substr(0, colon), &o.user)) {
      return UrlError("bad percent-encoding in the user name");
    }
    if (!PercentDecode(userinfo.substr(colon + 1), &o.password)) {
      return UrlError("bad percent-encoding in the password");
    }
    if (o.password.empty()) return UrlError("the password is empty");
  }

  std::string_view port_text;
  bool has_port = false;
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      return UrlError("unterminated [ in the host");
    }
    std::string_view h = hostport.substr(1, close - 1);
    if (!ValidIpv6(h)) return UrlError("bad IPv6 address in the host");
    o.host = std::string(h);
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return UrlError("junk after the host");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = hostport.find(':');
    std::string_view h = hostport.substr(0, colon);
    if (h.empty()) return UrlError("the host is missing");
    if (!ValidHostName(h)) return UrlError("bad character in the host");
    o.host = std::string(h);
    if (colon != std::string_view::npos) {
      port_text = hostport.substr(colon + 1);
      has_port = true;
    }
  }
  if (has_port) {
    int64_t port;
    if (!ParseNumber(port_text, 5, 1, 65535, &port)) {
      return UrlError("the port must be a number from 1 to 65535");
    }
    o.port = static_cast<int>(port);
  }

  if (!path.empty()) {
    int64_t db;
    if (!ParseNumber(path, 9, 0, 999999999, &db)) {
      return UrlError("the path must be a database number, e.g. /0");
    }
    o.db = static_cast<int>(db);
  }
  return o;
}

RedisWindowCounter::RedisWindowCounter(RedisOptions options,
                                       metrics::Metrics& metrics)
    : options_(std::move(options)),
      incr_duration_(metrics.RedisDuration("incr_window")),
      incr_errors_(metrics.RedisErrors("incr_window")),
      ping_duration_(metrics.RedisDuration("ping")),
      ping_errors_(metrics.RedisErrors("ping")),
      pool_wait_(metrics.PoolWait("redis")),
      pool_wait_timeouts_(metrics.PoolWaitTimeouts("redis")),
      idle_(metrics.PoolConnections("redis", "idle")),
      in_use_(metrics.PoolConnections("redis", "in_use")) {
  if (options_.host.empty()) {
    Result<RedisOptions> parsed = ParseRedisUrl(options_.url);
    if (parsed.ok()) {
      RedisOptions p = std::move(parsed).value();
      p.connect_timeout = options_.connect_timeout;
      p.command_timeout = options_.command_timeout;
      p.pool_size = options_.pool_size;
      options_ = std::move(p);
    } else {
      config_error_ = parsed.error().internal;
    }
  }
  options_.pool_size = std::max(options_.pool_size, 1);
  for (int i = 0; i < options_.pool_size; ++i) {
    free_.push_back(std::make_unique<Conn>());
  }
  io_thread_ = std::thread([this] { RunIoThread(); });
}

RedisWindowCounter::~RedisWindowCounter() {
  {
    std::lock_guard<std::mutex> lock(batch_mu_);
    stopping_ = true;
  }
  batch_cv_.notify_one();
  io_thread_.join();
  if (io_conn_) Drop(*io_conn_);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& conn : free_) {
    if (conn->ctx != nullptr) {
      redisFree(conn->ctx);
      idle_.Decrement();
    }
  }
}

Result<std::unique_ptr<RedisWindowCounter::Conn>>
RedisWindowCounter::Acquire() {
  auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  bool got = free_cv_.wait_for(lock, options_.command_timeout,
                               [this] { return !free_.empty(); });
  pool_wait_.Observe(SecondsSince(start));
  if (!got) {
    pool_wait_timeouts_.Increment();
    return Error::Unavailable("redis pool: no free connection in time");
  }
  std::unique_ptr<Conn> conn = std::move(free_.back());
  free_.pop_back();
  if (conn->ctx != nullptr) idle_.Decrement();
  in_use_.Increment();
  return conn;
}

void RedisWindowCounter::Release(std::unique_ptr<Conn> conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_use_.Decrement();
    if (conn->ctx != nullptr) idle_.Increment();
    free_.push_back(std::move(conn));
  }
  free_cv_.notify_one();
}

void RedisWindowCounter::Drop(Conn& conn) {
  if (conn.ctx != nullptr) redisFree(conn.ctx);
  conn.ctx = nullptr;
  conn.script_sha.clear();
}

Status RedisWindowCounter::EnsureConnected(Conn& conn) {
  if (conn.ctx != nullptr) return std::nullopt;
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  redisContext* ctx =
      redisConnectWithTimeout(options_.host.c_str(), options_.port,
                              ToTimeval(options_.connect_timeout));
  if (ctx == nullptr) {
    return Error::Unavailable("redis connect " + where + ": out of memory");
  }
  if (ctx->err != 0) {
    std::string err = ctx->errstr;
    redisFree(ctx);
    return Error::Unavailable("redis connect " + where + ": " + err);
  }
  conn.ctx = ctx;
  if (redisSetTimeout(ctx, ToTimeval(options_.command_timeout)) != REDIS_OK) {
    Drop(conn);
    return Error::Unavailable("redis connect " + where +
                              ": cannot set the timeout");
  }
  redisEnableKeepAlive(ctx);  // best effort

  auto setup = [&](std::initializer_list<std::string_view> args,
                   const char* what) -> Status {
    ReplyPtr r = Command(conn.ctx, args);
    if (!r) {
      std::string err = conn.ctx->errstr;
      Drop(conn);
      return Error::Unavailable(std::string("redis ") + what + ": " + err);
    }
    if (r->type == REDIS_REPLY_ERROR) {
      std::string err = ReplyText(*r);
      Drop(conn);
      return Error::Unavailable(std::string("redis ") + what + ": " + err);
    }
    return std::nullopt;
  };
  if (!options_.password.empty()) {
    // Redis error replies to AUTH never echo the password.
    Status s = options_.user.empty()
                   ? setup({"AUTH", options_.password}, "AUTH")
                   : setup({"AUTH", options_.user, options_.password}, "AUTH");
    if (s) return s;
  }
  if (options_.db != 0) {
    const std::string db = std::to_string(options_.db);
    if (Status s = setup({"SELECT", db}, "SELECT")) return s;
  }
  if (Status s = LoadScript(conn)) return s;
  // Once per (re)connect: the operational trail of Redis coming and going.
  log::Event(log::Level::kInfo, "redis_connected", {{"address", where}});
  return std::nullopt;
}

Status RedisWindowCounter::LoadScript(Conn& conn) {
  ReplyPtr r = Command(conn.ctx, {"SCRIPT", "LOAD", kIncrScript});
  if (!r) {
    std::string err = conn.ctx->errstr;
    Drop(conn);
    return Error::Unavailable("redis SCRIPT LOAD: " + err);
  }
  if (r->type != REDIS_REPLY_STRING) {
    std::string err =
        r->type == REDIS_REPLY_ERROR ? ReplyText(*r) : "unexpected reply type";
    Drop(conn);
    return Error::Unavailable("redis SCRIPT LOAD: " + err);
  }
  conn.script_sha = ReplyText(*r);
  return std::nullopt;
}

Result<int64_t> RedisWindowCounter::IncrementOn(Conn& conn,
                                                const std::string& key,
                                                const std::string& expire_at) {
  for (int attempt = 0;; ++attempt) {
    ReplyPtr r =
        Command(conn.ctx, {"EVALSHA", conn.script_sha, "1", key, expire_at});
    if (!r) {
      std::string err = conn.ctx->errstr;
      Drop(conn);
      return Error::Unavailable("redis EVALSHA: " + err);
    }
    if (r->type == REDIS_REPLY_INTEGER) return static_cast<int64_t>(r->integer);
    if (r->type != REDIS_REPLY_ERROR) {
      Drop(conn);  // out of step with the protocol: do not trust it again
      return Error::Unavailable("redis EVALSHA: unexpected reply type");
    }
    std::string err = ReplyText(*r);
    if (StartsWith(err, "NOSCRIPT") && attempt == 0) {
      // The script cache was flushed (SCRIPT FLUSH, a restart, a failover).
      if (Status s = LoadScript(conn)) return *s;
      continue;
    }
    // A replica after a failover stays read-only: reconnecting may reach
    // the new primary. Other error replies leave the connection usable.
    if (StartsWith(err, "READONLY")) Drop(conn);
    return Error::Unavailable("redis EVALSHA: " + err);
  }
}

Result<int64_t> RedisWindowCounter::Increment(const std::string& bucket,
                                              int64_t window_start_unix,
                                              int64_t window_seconds) {
  return Await<Result<int64_t>>([&](CountCallback done) {
    IncrementAsync(bucket, window_start_unix, window_seconds, std::move(done));
  });
}

void RedisWindowCounter::IncrementAsync(const std::string& bucket,
                                        int64_t window_start_unix,
                                        int64_t window_seconds,
                                        CountCallback done) {
  if (!config_error_.empty()) {
    incr_errors_.Increment();
    done(Error::Unavailable(config_error_));
    return;
  }
  Pending p{
      kKeyPrefix + bucket + ":" + std::to_string(window_start_unix),
      std::to_string(window_start_unix + window_seconds + kExpiryGraceSeconds),
      std::move(done), std::chrono::steady_clock::now(), std::nullopt};
  bool wake;
  {
    std::lock_guard<std::mutex> lock(batch_mu_);
    queue_.push_back(std::move(p));
    wake = io_waiting_;
  }
  // Under load the I/O thread is busy and finds the queue on its own: no
  // wake-up (and no system call) per request.
  if (wake) batch_cv_.notify_one();
}

void RedisWindowCounter::RunIoThread() {
  std::vector<Pending> batch;
  std::unique_lock<std::mutex> lock(batch_mu_);
  for (;;) {
    io_waiting_ = true;
    batch_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    io_waiting_ = false;
    if (queue_.empty()) return;  // stopping, nothing left to answer
    if (queue_.size() <= kMaxBatchSize) {
      batch.swap(queue_);
    } else {
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + kMaxBatchSize));
      queue_.erase(queue_.begin(), queue_.begin() + kMaxBatchSize);
    }
    lock.unlock();
    try {
      RunBatch(batch);
    } catch (const std::exception& e) {
      for (Pending& p : batch) {
        if (!p.result)
          p.result = Error::Internal(std::string("redis batch: ") + e.what());
      }
    }
    auto now = std::chrono::steady_clock::now();
    for (Pending& p : batch) {
      if (!p.result) p.result = Error::Internal("redis batch: no answer");
      incr_duration_.Observe(
          std::chrono::duration<double>(now - p.queued).count());
      if (!p.result->ok()) incr_errors_.Increment();
      try {
        p.done(std::move(*p.result));
      } catch (...) {
        // A callback's failure is its own; the others still get answers.
      }
    }
    batch.clear();
    lock.lock();
  }
}

void RedisWindowCounter::RunBatch(std::vector<Pending>& batch) {
  auto fail_from = [&](const Error& e, size_t from) {
    for (size_t i = from; i < batch.size(); ++i) batch[i].result = e;
  };
  if (!io_conn_) io_conn_ = std::make_unique<Conn>();
  Conn& conn = *io_conn_;
  if (Status s = EnsureConnected(conn)) return fail_from(*s, 0);
  if (batch.size() == 1) {
    batch[0].result = IncrementOn(conn, batch[0].key, batch[0].expire_at);
    return;
  }
  for (Pending& p : batch) {
    const char* argv[] = {"EVALSHA", conn.script_sha.c_str(), "1",
                          p.key.c_str(), p.expire_at.c_str()};
    size_t lens[] = {7, conn.script_sha.size(), 1, p.key.size(),
                     p.expire_at.size()};
    if (redisAppendCommandArgv(conn.ctx, 5, argv, lens) != REDIS_OK) {
      Drop(conn);
      return fail_from(
          Error::Unavailable("redis pipeline: cannot queue a command"), 0);
    }
  }
  std::vector<size_t> retry;  // NOSCRIPT: the script cache was flushed
  for (size_t i = 0; i < batch.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(conn.ctx, &raw) != REDIS_OK || raw == nullptr) {
      std::string err = conn.ctx->errstr;
      Drop(conn);
      return fail_from(Error::Unavailable("redis EVALSHA: " + err), i);
    }
    ReplyPtr r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_INTEGER) {
      batch[i].result = static_cast<int64_t>(r->integer);
    } else if (r->type == REDIS_REPLY_ERROR &&
               StartsWith(ReplyText(*r), "NOSCRIPT")) {
      retry.push_back(i);
    } else {
      batch[i].result = Error::Unavailable(
          "redis EVALSHA: " + (r->type == REDIS_REPLY_ERROR
                                   ? ReplyText(*r)
                                   : std::string("unexpected reply")));
    }
  }
  for (size_t i : retry) {
    if (Status s = EnsureConnected(conn)) {
      batch[i].result = *s;
      continue;
    }
    batch[i].result = IncrementOn(conn, batch[i].key, batch[i].expire_at);
  }
}

Status RedisWindowCounter::Ping() {
  try {
    if (!config_error_.empty()) {
      ping_errors_.Increment();
      return Error::Unavailable(config_error_);
    }
    Result<std::unique_ptr<Conn>> acquired = Acquire();
    if (!acquired.ok()) {
      ping_errors_.Increment();
      return acquired.error();
    }
    struct Lease {
      RedisWindowCounter* self;
      std::unique_ptr<Conn> conn;
      ~Lease() { self->Release(std::move(conn)); }
    } lease{this, std::move(acquired).value()};

    auto start = std::chrono::steady_clock::now();
    Status status = [&]() -> Status {
      if (Status s = EnsureConnected(*lease.conn)) return s;
      ReplyPtr r = Command(lease.conn->ctx, {"PING"});
      if (!r) {
        std::string err = lease.conn->ctx->errstr;
        Drop(*lease.conn);
        return Error::Unavailable("redis PING: " + err);
      }
      if (r->type == REDIS_REPLY_ERROR) {
        return Error::Unavailable("redis PING: " + ReplyText(*r));
      }
      return std::nullopt;
    }();
    ping_duration_.Observe(SecondsSince(start));
    if (status) ping_errors_.Increment();
    return status;
  } catch (const std::exception& e) {
    ping_errors_.Increment();
    return Error::Internal(std::string("redis ping: ") + e.what());
  } catch (...) {
    ping_errors_.Increment();
    return Error::Internal("redis ping: unknown exception");
  }
}

}  // namespace qs::ratelimit
