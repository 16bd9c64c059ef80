#include "config/redis_url.h"

#include <algorithm>

#include "common/ascii.h"
#include "common/text.h"

namespace qs::config {
namespace {

Error UrlError(std::string what) {
  return Error{ErrorCode::kInvalidArgument, "Invalid Redis URL",
               "redis url (redis://[[user]:password@]host[:port][/db] or "
               "redis-cluster://[[user]:password@]host[:port][,host[:port]...]"
               "): " +
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

// host[:port] or [ipv6][:port]; port 6379 when absent. An empty string on
// success, else what is wrong.
std::string ParseHostPort(std::string_view hostport, RedisNode* out) {
  std::string_view port_text;
  bool has_port = false;
  out->port = 6379;
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return "unterminated [ in the host";
    std::string_view h = hostport.substr(1, close - 1);
    if (!ValidIpv6(h)) return "bad IPv6 address in the host";
    out->host = std::string(h);
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "junk after the host";
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = hostport.find(':');
    std::string_view h = hostport.substr(0, colon);
    if (h.empty()) return "the host is missing";
    if (!ValidHostName(h)) return "bad character in the host";
    out->host = std::string(h);
    if (colon != std::string_view::npos) {
      port_text = hostport.substr(colon + 1);
      has_port = true;
    }
  }
  if (has_port) {
    int64_t port;
    if (!ParseDecimal(port_text, 5, 1, 65535, &port)) {
      return "the port must be a number from 1 to 65535";
    }
    out->port = static_cast<int>(port);
  }
  return "";
}

// A cluster URL lists at most this many seed nodes.
constexpr size_t kMaxSeeds = 64;

}  // namespace

Result<RedisUrl> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  constexpr std::string_view kClusterScheme = "redis-cluster://";
  if (StartsWith(url, "rediss://") || StartsWith(url, "rediss-cluster://")) {
    return UrlError("TLS (rediss://) is not supported");
  }
  RedisUrl o;
  std::string_view rest;
  if (StartsWith(url, kScheme)) {
    rest = url.substr(kScheme.size());
  } else if (StartsWith(url, kClusterScheme)) {
    o.cluster = true;
    rest = url.substr(kClusterScheme.size());
  } else {
    return UrlError("must start with redis:// or redis-cluster://");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return UrlError("query strings and fragments are not supported");
  }
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

  if (o.cluster) {
    // Seed nodes, as libpq lists several hosts: any one that answers gives
    // the slot map.
    std::string_view list = hostport;
    for (;;) {
      size_t comma = list.find(',');
      RedisNode seed;
      std::string err = ParseHostPort(list.substr(0, comma), &seed);
      if (!err.empty()) {
        return UrlError("seed node " + std::to_string(o.nodes.size() + 1) +
                        ": " + err);
      }
      if (o.nodes.size() == kMaxSeeds) {
        return UrlError("more than " + std::to_string(kMaxSeeds) +
                        " seed nodes");
      }
      o.nodes.push_back(std::move(seed));
      if (comma == std::string_view::npos) break;
      list = list.substr(comma + 1);
    }
    // A cluster has database 0 only.
    if (!path.empty() && path != "0") {
      return UrlError("a cluster has database 0 only (no path, or /0)");
    }
    return o;
  }

  RedisNode node;
  if (std::string err = ParseHostPort(hostport, &node); !err.empty()) {
    return UrlError(err);
  }
  o.nodes.push_back(std::move(node));
  if (!path.empty()) {
    int64_t db;
    if (!ParseDecimal(path, 9, 0, 999999999, &db)) {
      return UrlError("the path must be a database number, e.g. /0");
    }
    o.db = static_cast<int>(db);
  }
  return o;
}

}  // namespace qs::config
