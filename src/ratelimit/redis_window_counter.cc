#include "ratelimit/redis_window_counter.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <exception>
#include <initializer_list>
#include <unordered_map>
#include <utility>

#include "common/ascii.h"
#include "common/text.h"
#include "log/log.h"
#include "ratelimit/embedded/count_window_lua.h"
#include "ratelimit/redis_reply.h"

namespace qs::ratelimit {
namespace {

using std::chrono::milliseconds;

// The count script (src/ratelimit/count_window.lua, embedded at build time):
// adds a count to a window's key, atomically in Redis, which is what makes
// the limit exact across instances.
constexpr std::string_view kCountScript = embedded::kCountWindowLua;
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

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      *out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = ascii::HexDigitValue(in[i + 1]);
    int lo = ascii::HexDigitValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

bool ValidHostName(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return ascii::IsAlnum(c) || c == '.' || c == '-' || c == '_';
  });
}

bool ValidIpv6(std::string_view h) {
  if (h.empty() || h.find(':') == std::string_view::npos) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return ascii::IsHexDigit(c) || c == ':' || c == '.';
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
    if (!ParseDecimal(port_text, 5, 1, 65535, &port)) {
      return UrlError("the port must be a number from 1 to 65535");
    }
    o.port = static_cast<int>(port);
  }

  if (!path.empty()) {
    int64_t db;
    if (!ParseDecimal(path, 9, 0, 999999999, &db)) {
      return UrlError("the path must be a database number, e.g. /0");
    }
    o.db = static_cast<int>(db);
  }
  return o;
}

RedisWindowCounter::RedisWindowCounter(RedisOptions options,
                                       metrics::Metrics& metrics)
    : options_(std::move(options)),
      incr_duration_(
          metrics.RedisDuration(metrics::RedisOperation::kIncrWindow)),
      incr_errors_(metrics.RedisErrors(metrics::RedisOperation::kIncrWindow)),
      ping_duration_(metrics.RedisDuration(metrics::RedisOperation::kPing)),
      ping_errors_(metrics.RedisErrors(metrics::RedisOperation::kPing)),
      pool_wait_(metrics.PoolWait(metrics::Pool::kRedis)),
      pool_wait_timeouts_(metrics.PoolWaitTimeouts(metrics::Pool::kRedis)),
      idle_(metrics.PoolConnections(metrics::Pool::kRedis,
                                    metrics::PoolState::kIdle)),
      in_use_(metrics.PoolConnections(metrics::Pool::kRedis,
                                      metrics::PoolState::kInUse)),
      queue_depth_(metrics.redis_queue_depth()),
      rejected_full_(
          metrics.RedisQueueRejections(metrics::QueueRejection::kFull)),
      rejected_expired_(
          metrics.RedisQueueRejections(metrics::QueueRejection::kExpired)),
      rejected_stopped_(
          metrics.RedisQueueRejections(metrics::QueueRejection::kStopped)),
      count_calls_(metrics.redis_count_calls()),
      counted_requests_(metrics.redis_counted_requests()) {
  if (options_.host.empty()) {
    Result<RedisOptions> parsed = ParseRedisUrl(options_.url);
    if (parsed.ok()) {
      RedisOptions p = std::move(parsed).value();
      p.connect_timeout = options_.connect_timeout;
      p.command_timeout = options_.command_timeout;
      p.pool_size = options_.pool_size;
      p.max_queued = options_.max_queued;
      options_ = std::move(p);
    } else {
      config_error_ = parsed.error().internal;
    }
  }
  options_.pool_size = std::max(options_.pool_size, 1);
  options_.max_queued = std::max<size_t>(options_.max_queued, 1);
  if (options_.command_timeout < milliseconds(1)) {
    options_.command_timeout = milliseconds(1);
  }
  for (int i = 0; i < options_.pool_size; ++i) {
    free_.push_back(std::make_unique<Conn>());
  }
  io_thread_ = std::thread([this] { RunIoThread(); });
}

RedisWindowCounter::~RedisWindowCounter() {
  // Whatever the callbacks would answer into may be destroyed already (its
  // owner was declared after this counter): discard, do not call.
  discard_.store(true);
  Stop();
  if (io_conn_) Drop(*io_conn_);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& conn : free_) {
    if (conn->ctx != nullptr) {
      redisFree(conn->ctx);
      idle_.Decrement();
    }
  }
}

void RedisWindowCounter::Stop() {
  {
    std::lock_guard<std::mutex> lock(batch_mu_);
    stopping_ = true;
  }
  batch_cv_.notify_one();
  std::lock_guard<std::mutex> join_lock(join_mu_);
  if (io_thread_.joinable()) io_thread_.join();
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

Status RedisWindowCounter::ArmTimeout(Conn& conn, SteadyTime deadline) {
  milliseconds left = options_.command_timeout;
  if (deadline != SteadyTime::max()) {
    auto remaining = std::chrono::duration_cast<milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (remaining <= milliseconds(0)) {
      return Error::Unavailable("redis: the count waited past the timeout");
    }
    left = std::min(left, remaining);
  }
  if (redisSetTimeout(conn.ctx, ToTimeval(left)) != REDIS_OK) {
    Drop(conn);
    return Error::Unavailable("redis: cannot set the timeout");
  }
  return Status::Ok();
}

Status RedisWindowCounter::EnsureConnected(Conn& conn, SteadyTime deadline) {
  if (conn.ctx != nullptr) return ArmTimeout(conn, deadline);
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  milliseconds connect_timeout = options_.connect_timeout;
  if (deadline != SteadyTime::max()) {
    auto remaining = std::chrono::duration_cast<milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (remaining <= milliseconds(0)) {
      return Error::Unavailable("redis connect " + where +
                                ": no time left before the deadline");
    }
    connect_timeout = std::min(connect_timeout, remaining);
  }
  redisContext* ctx = redisConnectWithTimeout(
      options_.host.c_str(), options_.port, ToTimeval(connect_timeout));
  if (ctx == nullptr) {
    return Error::Unavailable("redis connect " + where + ": out of memory");
  }
  if (ctx->err != 0) {
    std::string err = ctx->errstr;
    redisFree(ctx);
    return Error::Unavailable("redis connect " + where + ": " + err);
  }
  conn.ctx = ctx;
  if (Status s = ArmTimeout(conn, deadline); !s.ok()) return s;
  redisEnableKeepAlive(ctx);  // best effort

  auto setup = [&](std::initializer_list<std::string_view> args,
                   const char* what) -> Status {
    ReplyPtr r = Command(conn.ctx, args);
    if (!r) {
      std::string err = conn.ctx->errstr;
      Drop(conn);
      return Error::Unavailable(std::string("redis ") + what + ": " + err);
    }
    ClassifiedReply c = ClassifyReply(*r);
    if (c.kind != ReplyKind::kString) {
      Drop(conn);
      return Error::Unavailable(
          std::string("redis ") + what + ": " +
          (c.text.empty() ? std::string("unexpected reply") : c.text));
    }
    return Status::Ok();
  };
  if (!options_.password.empty()) {
    // Redis error replies to AUTH never echo the password.
    Status s = options_.user.empty()
                   ? setup({"AUTH", options_.password}, "AUTH")
                   : setup({"AUTH", options_.user, options_.password}, "AUTH");
    if (!s.ok()) return s;
  }
  if (options_.db != 0) {
    const std::string db = std::to_string(options_.db);
    if (Status s = setup({"SELECT", db}, "SELECT"); !s.ok()) return s;
  }
  if (Status s = LoadScript(conn); !s.ok()) return s;
  // Once per (re)connect: the operational trail of Redis coming and going.
  log::Event(log::Level::kInfo, "redis_connected", {{"address", where}});
  return Status::Ok();
}

Status RedisWindowCounter::LoadScript(Conn& conn) {
  ReplyPtr r = Command(conn.ctx, {"SCRIPT", "LOAD", kCountScript});
  if (!r) {
    std::string err = conn.ctx->errstr;
    Drop(conn);
    return Error::Unavailable("redis SCRIPT LOAD: " + err);
  }
  ClassifiedReply c = ClassifyReply(*r);
  if (c.kind != ReplyKind::kString) {
    Drop(conn);
    return Error::Unavailable(
        "redis SCRIPT LOAD: " +
        (c.text.empty() ? std::string("unexpected reply type") : c.text));
  }
  conn.script_sha = std::move(c.text);
  return Status::Ok();
}

namespace {

// What a script call's reply means to the caller. kNoScript is handled by
// the caller (reload, retry once); `drop` says the connection is no longer
// to be trusted (out of step with the protocol, or a read-only replica).
struct CountReply {
  ReplyKind kind;
  Result<int64_t> total;
  bool drop = false;
};

CountReply ReadCountReply(const redisReply& r) {
  ClassifiedReply c = ClassifyReply(r);
  switch (c.kind) {
    case ReplyKind::kInteger:
      return {c.kind, c.integer, false};
    case ReplyKind::kNoScript:
      return {c.kind, Error::Unavailable("redis EVALSHA: " + c.text), false};
    case ReplyKind::kReadOnly:
      // A replica after a failover stays read-only: reconnecting may reach
      // the new primary.
      return {c.kind, Error::Unavailable("redis EVALSHA: " + c.text), true};
    case ReplyKind::kMoved:
    case ReplyKind::kAsk:
    case ReplyKind::kTryAgain:
    case ReplyKind::kError:
      // Other error replies leave the connection usable.
      return {c.kind, Error::Unavailable("redis EVALSHA: " + c.text), false};
    case ReplyKind::kString:
    case ReplyKind::kUnexpected:
      break;
  }
  return {ReplyKind::kUnexpected,
          Error::Unavailable("redis EVALSHA: unexpected reply type"), true};
}

}  // namespace

Result<int64_t> RedisWindowCounter::IncrementOn(Conn& conn,
                                                const std::string& key,
                                                const std::string& expire_at,
                                                int64_t count) {
  const std::string n = std::to_string(count);
  for (int attempt = 0;; ++attempt) {
    ReplyPtr r =
        Command(conn.ctx, {"EVALSHA", conn.script_sha, "1", key, expire_at, n});
    count_calls_.Increment();
    if (!r) {
      std::string err = conn.ctx->errstr;
      Drop(conn);
      return Error::Unavailable("redis EVALSHA: " + err);
    }
    CountReply c = ReadCountReply(*r);
    if (c.kind == ReplyKind::kNoScript && attempt == 0) {
      // The script cache was flushed (SCRIPT FLUSH, a restart, a failover).
      if (Status s = LoadScript(conn); !s.ok()) return s.error();
      continue;
    }
    if (c.drop) Drop(conn);
    if (c.total.ok()) counted_requests_.Increment(static_cast<double>(count));
    return c.total;
  }
}

void RedisWindowCounter::TakeExpiredLocked(SteadyTime now,
                                           std::vector<Pending>* expired) {
  while (!queue_.empty() &&
         now - queue_.front().queued >= options_.command_timeout) {
    expired->push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
}

void RedisWindowCounter::IncrementAsync(const std::string& bucket,
                                        int64_t window_start_unix,
                                        int64_t window_seconds,
                                        CountCallback done) {
  Enqueue(bucket, window_start_unix, window_seconds, 1, std::move(done));
}

void RedisWindowCounter::ReadAsync(const std::string& bucket,
                                   int64_t window_start_unix,
                                   int64_t window_seconds, CountCallback done) {
  Enqueue(bucket, window_start_unix, window_seconds, 0, std::move(done));
}

void RedisWindowCounter::Enqueue(const std::string& bucket,
                                 int64_t window_start_unix,
                                 int64_t window_seconds, int64_t count,
                                 CountCallback done) {
  if (!config_error_.empty()) {
    incr_errors_.Increment();
    done(Error::Unavailable(config_error_));
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  Pending p{
      kKeyPrefix + bucket + ":" + std::to_string(window_start_unix),
      std::to_string(window_start_unix + window_seconds + kExpiryGraceSeconds),
      count, std::move(done), now, std::nullopt};
  std::vector<Pending> answer_now;
  const char* refused = nullptr;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(batch_mu_);
    if (stopping_) {
      refused = "stopped";
    } else {
      // The I/O thread may be stuck in a read on a stalled Redis: counts it
      // has not taken by their deadline are decided here, by a thread that
      // is not.
      TakeExpiredLocked(now, &answer_now);
      if (queue_.size() >= options_.max_queued) {
        refused = "full";
      } else {
        queue_.push_back(std::move(p));
        wake = io_waiting_;
      }
    }
    queue_depth_.Set(static_cast<double>(queue_.size()));
  }
  // Under load the I/O thread is busy and finds the queue on its own: no
  // wake-up (and no system call) per request.
  if (wake) batch_cv_.notify_one();

  for (Pending& e : answer_now) {
    rejected_expired_.Increment();
    e.result = Error::Unavailable(
        "redis: the count waited in the queue past the Redis timeout");
  }
  if (refused != nullptr) {
    (std::string_view(refused) == "full" ? rejected_full_ : rejected_stopped_)
        .Increment();
    p.result = Error::Unavailable(
        std::string("redis: count refused, queue ") +
        (std::string_view(refused) == "full" ? "full" : "stopped"));
    answer_now.push_back(std::move(p));
  }
  Answer(answer_now);
}

void RedisWindowCounter::Answer(std::vector<Pending>& answered) {
  const auto now = std::chrono::steady_clock::now();
  for (Pending& p : answered) {
    if (!p.result) p.result = Error::Internal("redis batch: no answer");
    incr_duration_.Observe(
        std::chrono::duration<double>(now - p.queued).count());
    if (!p.result->ok()) incr_errors_.Increment();
    if (discard_.load(std::memory_order_relaxed)) continue;
    try {
      p.done(std::move(*p.result));
    } catch (...) {
      // A callback's failure is its own; the others still get answers.
    }
  }
}

void RedisWindowCounter::RunIoThread() {
  std::vector<Pending> batch;
  std::vector<Pending> expired;
  std::unique_lock<std::mutex> lock(batch_mu_);
  for (;;) {
    io_waiting_ = true;
    batch_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    io_waiting_ = false;
    if (stopping_) {
      // Whatever is still queued is answered, not sent: shutdown must not
      // wait on Redis for counts nobody may read.
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.end()));
      queue_.clear();
      queue_depth_.Set(0);
      lock.unlock();
      for (Pending& p : batch) {
        rejected_stopped_.Increment();
        p.result = Error::Unavailable("redis: the counter is stopping");
      }
      Answer(batch);
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    TakeExpiredLocked(now, &expired);
    const size_t take = std::min(queue_.size(), kMaxBatchRequests);
    batch.assign(std::make_move_iterator(queue_.begin()),
                 std::make_move_iterator(queue_.begin() + take));
    queue_.erase(queue_.begin(), queue_.begin() + take);
    queue_depth_.Set(static_cast<double>(queue_.size()));
    lock.unlock();

    for (Pending& p : expired) {
      rejected_expired_.Increment();
      p.result = Error::Unavailable(
          "redis: the count waited in the queue past the Redis timeout");
    }
    Answer(expired);
    expired.clear();
    if (!batch.empty()) {
      // The oldest count's deadline bounds the whole batch's I/O: no count
      // waits longer than the Redis timeout in all, whatever Redis does.
      const SteadyTime deadline =
          batch.front().queued + options_.command_timeout;
      try {
        RunBatch(batch, deadline);
      } catch (const std::exception& e) {
        for (Pending& p : batch) {
          if (!p.result)
            p.result = Error::Internal(std::string("redis batch: ") + e.what());
        }
      }
      Answer(batch);
      batch.clear();
    }
    lock.lock();
  }
}

void RedisWindowCounter::RunBatch(std::vector<Pending>& batch,
                                  SteadyTime deadline) {
  // Requests of one bucket and window become one group, in arrival order.
  std::vector<Group> groups;
  {
    std::unordered_map<std::string_view, size_t> index;
    index.reserve(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      auto [it, inserted] = index.emplace(batch[i].key, groups.size());
      if (inserted) {
        groups.push_back({&batch[i].key, &batch[i].expire_at, 0, {}});
      }
      groups[it->second].count += batch[i].count;
      groups[it->second].members.push_back(i);
    }
  }
  auto fail_group = [&](const Group& g, const Error& e) {
    for (size_t m : g.members) batch[m].result = e;
  };
  auto fail_from = [&](size_t from, const Error& e) {
    for (size_t i = from; i < groups.size(); ++i) fail_group(groups[i], e);
  };
  // In arrival order, each request sees the total as its own count (1, or
  // 0 for a read) left it.
  auto hand_out = [&](const Group& g, int64_t total) {
    int64_t running = total - g.count;
    for (size_t m : g.members) {
      running += batch[m].count;
      batch[m].result = running;
    }
  };

  if (!io_conn_) io_conn_ = std::make_unique<Conn>();
  Conn& conn = *io_conn_;
  if (Status s = EnsureConnected(conn, deadline); !s.ok()) return fail_from(0, s.error());
  if (groups.size() == 1) {
    const Group& g = groups[0];
    Result<int64_t> total = IncrementOn(conn, *g.key, *g.expire_at, g.count);
    if (!total.ok()) return fail_group(g, total.error());
    return hand_out(g, total.value());
  }
  std::vector<std::string> counts;
  counts.reserve(groups.size());
  for (const Group& g : groups) {
    counts.push_back(std::to_string(g.count));
    const std::string& n = counts.back();
    const char* argv[] = {"EVALSHA",      conn.script_sha.c_str(), "1",
                          g.key->c_str(), g.expire_at->c_str(),    n.c_str()};
    size_t lens[] = {
        7,       conn.script_sha.size(), 1, g.key->size(), g.expire_at->size(),
        n.size()};
    if (redisAppendCommandArgv(conn.ctx, 6, argv, lens) != REDIS_OK) {
      Drop(conn);
      return fail_from(
          0, Error::Unavailable("redis pipeline: cannot queue a command"));
    }
  }
  count_calls_.Increment(static_cast<double>(groups.size()));
  std::vector<size_t> retry;  // NOSCRIPT: the script cache was flushed
  bool drop_after = false;
  for (size_t i = 0; i < groups.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(conn.ctx, &raw) != REDIS_OK || raw == nullptr) {
      std::string err = conn.ctx->errstr;
      Drop(conn);
      return fail_from(i, Error::Unavailable("redis EVALSHA: " + err));
    }
    ReplyPtr r(static_cast<redisReply*>(raw));
    CountReply c = ReadCountReply(*r);
    if (c.kind == ReplyKind::kUnexpected) {
      // Out of step with the protocol: no later reply can be trusted.
      Drop(conn);
      fail_group(groups[i], c.total.error());
      return fail_from(i + 1, c.total.error());
    }
    drop_after = drop_after || c.drop;
    if (c.kind == ReplyKind::kNoScript) {
      retry.push_back(i);
    } else if (c.total.ok()) {
      counted_requests_.Increment(static_cast<double>(groups[i].count));
      hand_out(groups[i], c.total.value());
    } else {
      fail_group(groups[i], c.total.error());
    }
  }
  if (drop_after) Drop(conn);
  for (size_t i : retry) {
    const Group& g = groups[i];
    if (Status s = EnsureConnected(conn, deadline); !s.ok()) {
      fail_group(g, s.error());
      continue;
    }
    Result<int64_t> total = IncrementOn(conn, *g.key, *g.expire_at, g.count);
    if (!total.ok()) {
      fail_group(g, total.error());
    } else {
      hand_out(g, total.value());
    }
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
      if (Status s = EnsureConnected(*lease.conn, SteadyTime::max()); !s.ok()) return s;
      ReplyPtr r = Command(lease.conn->ctx, {"PING"});
      if (!r) {
        std::string err = lease.conn->ctx->errstr;
        Drop(*lease.conn);
        return Error::Unavailable("redis PING: " + err);
      }
      ClassifiedReply c = ClassifyReply(*r);
      if (c.kind == ReplyKind::kString) return Status::Ok();
      if (c.kind == ReplyKind::kUnexpected) Drop(*lease.conn);
      return Error::Unavailable(
          "redis PING: " +
          (c.text.empty() ? std::string("unexpected reply") : c.text));
    }();
    ping_duration_.Observe(SecondsSince(start));
    if (!status.ok()) ping_errors_.Increment();
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
