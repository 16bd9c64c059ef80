#include "http/pistache_util.h"

namespace qs::http {

const char* MethodLabel(std::string_view method) {
  for (const char* known :
       {"GET", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "HEAD"}) {
    if (method == known) return known;
  }
  return "OTHER";
}

Result<std::unique_ptr<Pistache::Http::Endpoint>> StartEndpoint(
    const config::HostPort& listen, int threads,
    const std::shared_ptr<Pistache::Http::Handler>& handler) {
  using Pistache::Flags;
  using Pistache::Tcp::Options;
  constexpr int kBacklog = 4096;
  try {
    Pistache::Address address(listen.host, Pistache::Port(listen.port));
    auto endpoint = std::make_unique<Pistache::Http::Endpoint>(address);
    Flags<Options> flags(Options::ReuseAddr);
    flags |= Options::NoDelay;
    // Pistache's parser is never fed (the connection guard frames requests
    // and runs the timers), so its own timers must never fire: one would
    // close a connection without telling the guard, and time out requests
    // that are legitimately being answered.
    constexpr auto kNever = std::chrono::hours(24 * 365);
    endpoint->init(Pistache::Http::Endpoint::options()
                       .threads(threads)
                       .flags(flags)
                       .headerTimeout(kNever)
                       .bodyTimeout(kNever)
                       .keepaliveTimeout(kNever));
    // Options::backlog() does not reach the listener in 0.0.5; this does.
    endpoint->initArgs(static_cast<size_t>(threads), flags, std::string(),
                       kBacklog);
    endpoint->setHandler(handler);
    endpoint->serveThreaded();
    return endpoint;
  } catch (const std::exception& e) {
    return Error{ErrorCode::kUnavailable, "cannot listen",
                 "cannot listen on " + listen.ToString() + ": " + e.what()};
  }
}

}  // namespace qs::http
