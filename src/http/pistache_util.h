#pragma once

#include <pistache/endpoint.h>
#include <pistache/http.h>

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "config/config.h"

namespace qs::http {

// Works around Pistache 0.0.5 answering an HTTP/1.1 request that has no
// Connection header with "Connection: Close" while keeping the socket open
// (clients then reconnect for every request): such responses get no
// Connection header, which in HTTP/1.1 means keep-alive. While draining,
// every response says "Connection: close" so clients move to another
// instance.
void PrepareConnectionHeader(const Pistache::Http::Request& request,
                             Pistache::Http::ResponseWriter& writer,
                             bool draining);

// The method's name for metrics and logs; "OTHER" for the rare ones.
const char* MethodName(Pistache::Http::Method method);

void SetHeader(Pistache::Http::ResponseWriter& writer, const std::string& name,
               std::string value);

// A request header's value by name, typed or raw.
std::optional<std::string> RequestHeader(const Pistache::Http::Request& request,
                                         const std::string& name);

// Creates, binds and starts an endpoint on background threads. Sets the
// listen backlog, which Pistache's Options::backlog() ignores.
Result<std::unique_ptr<Pistache::Http::Endpoint>> StartEndpoint(
    const config::HostPort& listen, int threads,
    const std::shared_ptr<Pistache::Http::Handler>& handler);

}  // namespace qs::http
