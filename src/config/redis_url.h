#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace qs::config {

// A Redis node's address.
struct RedisNode {
  std::string host;  // a name, an IPv4 or an IPv6 address (no brackets)
  int port = 6379;
  bool operator==(const RedisNode& o) const {
    return port == o.port && host == o.host;
  }
  // "host:port", the key nodes are known by (and what logs show).
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

// The Redis setting (--redis-url), parsed.
struct RedisUrl {
  std::string url;       // as configured; may hold a password: never log it raw
  bool cluster = false;  // redis-cluster://
  std::vector<RedisNode> nodes;  // the node, or a cluster's seeds in order
  std::string user;              // empty: AUTH with the password only
  std::string password;          // empty: no AUTH
  int db = 0;                    // SELECTed when not 0; always 0 in a cluster
};

// Accepts redis://[[user]:password@]host[:port][/db] and
// redis-cluster://[[user]:password@]host[:port][,host[:port]...][/0] (1 to
// 64 seed nodes of a cluster); user and password may be percent-encoded, a
// host may be a bracketed IPv6 address. Defaults: port 6379, db 0. On
// failure, kInvalidArgument whose `internal` says what is wrong (never
// echoing the password) and whose `detail` is a short client-safe summary.
Result<RedisUrl> ParseRedisUrl(std::string_view url);

}  // namespace qs::config
