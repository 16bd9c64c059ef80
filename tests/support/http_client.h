#pragma once

#include <map>
#include <string>

namespace qs::testing {

struct HttpResponse {
  int status = 0;  // 0: no response (connection failed or timed out)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool has(const std::string& name) const { return headers.count(name) > 0; }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One HTTP/1.1 request on a new connection to 127.0.0.1:port
// (Connection: close unless `headers` has a Connection entry; an empty one
// sends no Connection header), with a timeout. `target` is the path and query.
HttpResponse HttpRequest(int port, const std::string& method,
                         const std::string& target,
                         const std::map<std::string, std::string>& headers = {},
                         int timeout_ms = 10000);

inline HttpResponse HttpGet(
    int port, const std::string& target,
    const std::map<std::string, std::string>& headers = {}) {
  return HttpRequest(port, "GET", target, headers);
}

// "/query/status?json=" + the percent-encoded JSON.
std::string StatusTarget(const std::string& json);

}  // namespace qs::testing
