#pragma once

#include <pistache/endpoint.h>
#include <pistache/http.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "config/config.h"

namespace qs::http {

// The method's name for metrics and logs (a bounded label set): one of the
// common methods, else "OTHER".
const char* MethodLabel(std::string_view method);

// Creates, binds and starts an endpoint on background threads. Sets the
// listen backlog, which Pistache's Options::backlog() ignores.
Result<std::unique_ptr<Pistache::Http::Endpoint>> StartEndpoint(
    const config::HostPort& listen, int threads,
    const std::shared_ptr<Pistache::Http::Handler>& handler);

}  // namespace qs::http
