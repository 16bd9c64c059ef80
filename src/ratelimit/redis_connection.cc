#include "ratelimit/redis_connection.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>

#include "common/random.h"
#include "log/log.h"

namespace qs::ratelimit {
namespace {

using std::chrono::milliseconds;

timeval ToTimeval(milliseconds ms) {
  if (ms.count() < 1) ms = milliseconds(1);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

void RedisReplyDeleter::operator()(redisReply* r) const { freeReplyObject(r); }

RedisConnection::RedisConnection(NodeAddress address,
                                 const RedisConnectionSettings* settings,
                                 bool backs_off)
    : address_(std::move(address)), settings_(settings), backs_off_(backs_off) {
  if (backs_off_) {
    uint32_t seed;
    FillRandom(&seed, sizeof seed);
    jitter_.seed(seed);
  }
}

RedisConnection::~RedisConnection() { Drop(); }

void RedisConnection::Retarget(const NodeAddress& address) {
  if (address == address_) return;
  Drop();
  address_ = address;
  failures_ = 0;
}

void RedisConnection::Drop() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
  script_sha_.clear();
}

void RedisConnection::Fail() {
  error_ = ctx_ != nullptr && ctx_->errstr[0] != '\0' ? ctx_->errstr
                                                      : "connection lost";
  Drop();
}

milliseconds RedisConnection::Backoff() {
  milliseconds cap = kMinBackoff * (1 << std::min(failures_, 10));
  cap = std::min(cap, kMaxBackoff);
  // Jitter over the upper half: instances that lost the same node do not
  // come back to it in step.
  std::uniform_int_distribution<int64_t> half(cap.count() / 2, cap.count());
  return milliseconds(half(jitter_));
}

Status RedisConnection::ArmTimeout(SteadyTime deadline) {
  milliseconds left = settings_->command_timeout;
  if (deadline != SteadyTime::max()) {
    auto remaining = std::chrono::duration_cast<milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (remaining <= milliseconds(0)) {
      return Error::Unavailable("redis: the count waited past the timeout");
    }
    left = std::min(left, remaining);
  }
  if (redisSetTimeout(ctx_, ToTimeval(left)) != REDIS_OK) {
    Drop();
    return Error::Unavailable("redis: cannot set the timeout");
  }
  return Status::Ok();
}

Status RedisConnection::Ensure(SteadyTime deadline) {
  if (ctx_ != nullptr) return ArmTimeout(deadline);
  if (backs_off_ && failures_ > 0 &&
      std::chrono::steady_clock::now() < retry_after_) {
    return Error::Unavailable("redis connect " + address_.ToString() +
                              ": waiting out the reconnect backoff");
  }
  Status s = Connect(deadline);
  if (!s.ok()) {
    if (backs_off_) {
      ++failures_;
      retry_after_ = std::chrono::steady_clock::now() + Backoff();
    }
    return s;
  }
  failures_ = 0;
  // Once per (re)connect: the operational trail of Redis coming and going.
  log::Event(log::Level::kInfo, "redis_connected",
             {{"address", address_.ToString()}});
  return Status::Ok();
}

Status RedisConnection::Connect(SteadyTime deadline) {
  const std::string where = address_.ToString();
  milliseconds connect_timeout = settings_->connect_timeout;
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
      address_.host.c_str(), address_.port, ToTimeval(connect_timeout));
  if (ctx == nullptr) {
    return Error::Unavailable("redis connect " + where + ": out of memory");
  }
  if (ctx->err != 0) {
    std::string err = ctx->errstr;
    redisFree(ctx);
    return Error::Unavailable("redis connect " + where + ": " + err);
  }
  ctx_ = ctx;
  if (Status s = ArmTimeout(deadline); !s.ok()) return s;
  redisEnableKeepAlive(ctx_);  // best effort

  auto setup = [&](std::initializer_list<std::string_view> args,
                   const char* what) -> Status {
    RedisReplyPtr r = Command(args);
    if (!r) {
      return Error::Unavailable(std::string("redis ") + what + " " + where +
                                ": " + error_);
    }
    ClassifiedReply c = ClassifyReply(*r);
    if (c.kind != ReplyKind::kString) {
      Drop();
      return Error::Unavailable(
          std::string("redis ") + what + " " + where + ": " +
          (c.text.empty() ? std::string("unexpected reply") : c.text));
    }
    return Status::Ok();
  };
  if (!settings_->password.empty()) {
    // Redis error replies to AUTH never echo the password.
    Status s =
        settings_->user.empty()
            ? setup({"AUTH", settings_->password}, "AUTH")
            : setup({"AUTH", settings_->user, settings_->password}, "AUTH");
    if (!s.ok()) return s;
  }
  if (settings_->db != 0) {
    const std::string db = std::to_string(settings_->db);
    if (Status s = setup({"SELECT", db}, "SELECT"); !s.ok()) return s;
  }
  return LoadScript();
}

Status RedisConnection::LoadScript() {
  RedisReplyPtr r = Command({"SCRIPT", "LOAD", settings_->script});
  if (!r) return Error::Unavailable("redis SCRIPT LOAD: " + error_);
  ClassifiedReply c = ClassifyReply(*r);
  if (c.kind != ReplyKind::kString) {
    Drop();
    return Error::Unavailable(
        "redis SCRIPT LOAD: " +
        (c.text.empty() ? std::string("unexpected reply type") : c.text));
  }
  script_sha_ = std::move(c.text);
  return Status::Ok();
}

RedisReplyPtr RedisConnection::Command(
    std::initializer_list<std::string_view> args) {
  if (ctx_ == nullptr) {
    error_ = "not connected";
    return nullptr;
  }
  const char* argv[8];
  size_t lens[8];
  int argc = 0;
  for (std::string_view a : args) {
    if (argc == 8) {  // a bug of the caller's, not an I/O error
      error_ = "too many arguments";
      return nullptr;
    }
    argv[argc] = a.data();
    lens[argc] = a.size();
    ++argc;
  }
  void* raw = redisCommandArgv(ctx_, argc, argv, lens);
  if (raw == nullptr) {
    Fail();
    return nullptr;
  }
  return RedisReplyPtr(static_cast<redisReply*>(raw));
}

bool RedisConnection::Append(int argc, const char** argv, const size_t* lens) {
  if (ctx_ == nullptr) {
    error_ = "not connected";
    return false;
  }
  if (redisAppendCommandArgv(ctx_, argc, argv, lens) != REDIS_OK) {
    Fail();
    return false;
  }
  return true;
}

bool RedisConnection::Flush() {
  if (ctx_ == nullptr) {
    error_ = "not connected";
    return false;
  }
  for (int done = 0; !done;) {
    if (redisBufferWrite(ctx_, &done) != REDIS_OK) {
      Fail();
      return false;
    }
  }
  return true;
}

RedisReplyPtr RedisConnection::Read() {
  if (ctx_ == nullptr) {
    error_ = "not connected";
    return nullptr;
  }
  void* raw = nullptr;
  if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
    Fail();
    return nullptr;
  }
  return RedisReplyPtr(static_cast<redisReply*>(raw));
}

}  // namespace qs::ratelimit
