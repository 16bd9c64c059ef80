#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "common/status.h"
#include "ratelimit/redis_cluster.h"
#include "ratelimit/redis_reply.h"

struct redisContext;  // hiredis; kept out of this header
struct redisReply;

namespace qs::ratelimit {

struct RedisReplyDeleter {
  void operator()(redisReply* r) const;
};
// A reply of hiredis's, freed with it.
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// What every connection to a node needs to know, from the URL and the
// timeouts.
struct RedisConnectionSettings {
  std::string user;      // empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECTed when not 0
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds command_timeout{200};
  // Loaded at each connect; its SHA is what EVALSHA names.
  std::string_view script;
};

// One blocking hiredis connection to one Redis node, made lazily, with the
// handshake every path needs (AUTH, SELECT, SCRIPT LOAD) in one place, and
// replies read through the one classifier (ClassifyReply). Any I/O failure
// or protocol surprise closes it; the next use reconnects. A connection
// that `backs_off` (the serving ones) does not reconnect before an
// exponential backoff with jitter after a failed connect has passed
// (kMinBackoff doubling to kMaxBackoff), so a down node costs no connect
// attempt per batch.
//
// Not thread-safe: one thread uses it at a time. Errors are kUnavailable
// whose internal text names the node and never holds the password.
class RedisConnection {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  static constexpr std::chrono::milliseconds kMinBackoff{25};
  static constexpr std::chrono::milliseconds kMaxBackoff{1000};

  RedisConnection(NodeAddress address, const RedisConnectionSettings* settings,
                  bool backs_off);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  const NodeAddress& address() const { return address_; }
  // Points the connection at another node (closing it if that differs).
  void Retarget(const NodeAddress& address);
  bool connected() const { return ctx_ != nullptr; }
  const std::string& script_sha() const { return script_sha_; }

  // Connects if not connected, the whole handshake before `deadline` (max:
  // each step bounded by its own timeout), and arms the socket timeout to
  // what is left before `deadline`, at most the command timeout.
  Status Ensure(SteadyTime deadline);
  // Closes it; the next Ensure reconnects.
  void Drop();
  // SCRIPT LOAD again (after NOSCRIPT). Drops the connection on failure.
  Status LoadScript();

  // One command and its reply. Null when the connection failed (then it is
  // dropped and error() says why); an error reply is a reply.
  RedisReplyPtr Command(std::initializer_list<std::string_view> args);
  // Pipelining: Append queues a command in hiredis's buffer, Flush writes
  // the buffer out, Read reads the next reply (null as for Command). On
  // failure each drops the connection.
  bool Append(int argc, const char** argv, const size_t* lens);
  bool Flush();
  RedisReplyPtr Read();
  // The last I/O error, for messages.
  const std::string& error() const { return error_; }

 private:
  Status Connect(SteadyTime deadline);
  Status ArmTimeout(SteadyTime deadline);
  void Fail();  // keeps the error text, then drops
  std::chrono::milliseconds Backoff();

  NodeAddress address_;
  const RedisConnectionSettings* settings_;
  bool backs_off_;
  redisContext* ctx_ = nullptr;
  std::string script_sha_;
  std::string error_;
  int failures_ = 0;
  SteadyTime retry_after_{};
  std::minstd_rand jitter_;
};

}  // namespace qs::ratelimit
