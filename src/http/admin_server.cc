#include "http/admin_server.h"

#include <chrono>

#include "http/pistache_util.h"

namespace qs::http {
namespace {

using Pistache::Http::Code;
using Pistache::Http::Method;
using Pistache::Http::Request;
using Pistache::Http::ResponseWriter;

class Handler final : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(Handler)

  struct Shared {
    Lifecycle& lifecycle;
    metrics::Metrics& metrics;
    AdminServer::ReadinessCheck check;
  };

  explicit Handler(std::shared_ptr<Shared> shared)
      : shared_(std::move(shared)) {}

  void onRequest(const Request& request, ResponseWriter writer) override {
    Shared& s = *shared_;
    PrepareConnectionHeader(request, writer, false);
    const std::string& path = request.resource();
    auto start = std::chrono::steady_clock::now();
    int status = 404;
    std::string route = "other";
    if (request.method() != Method::Get) {
      SetHeader(writer, "Allow", "GET");
      status = 405;
      Send(writer, status, "method not allowed\n", "text/plain");
    } else if (path == "/healthz") {
      route = path;
      status = 200;
      Send(writer, status, "{\"status\":\"alive\"}", "application/json");
    } else if (path == "/readyz") {
      route = path;
      Readiness r;
      if (s.lifecycle.draining()) {
        r.body = "{\"status\":\"draining\"}";
      } else {
        r = s.check();
      }
      s.metrics.ready().Set(r.ready ? 1 : 0);
      status = r.ready ? 200 : 503;
      Send(writer, status, r.body, "application/json");
    } else if (path == "/metrics") {
      route = path;
      status = 200;
      Send(writer, status, s.metrics.Serialize(),
           "text/plain; version=0.0.4; charset=utf-8");
    } else {
      Send(writer, status, "not found\n", "text/plain");
    }
    const char* method = MethodName(request.method());
    s.metrics.Requests(method, route, status).Increment();
    s.metrics.RequestDuration(method, route)
        .Observe(std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - start)
                     .count());
  }

 private:
  static void Send(ResponseWriter& writer, int status, const std::string& body,
                   const char* content_type) {
    SetHeader(writer, "Content-Type", content_type);
    SetHeader(writer, "Cache-Control", "no-store");
    writer.send(static_cast<Code>(status), body);
  }

  std::shared_ptr<Shared> shared_;
};

}  // namespace

AdminServer::AdminServer(config::HostPort listen, Lifecycle& lifecycle,
                         metrics::Metrics& metrics, ReadinessCheck check)
    : listen_(std::move(listen)),
      lifecycle_(lifecycle),
      metrics_(metrics),
      check_(std::move(check)) {}

AdminServer::~AdminServer() { Shutdown(); }

Status AdminServer::Start() {
  auto shared = std::make_shared<Handler::Shared>(
      Handler::Shared{lifecycle_, metrics_, check_});
  auto endpoint = StartEndpoint(listen_, 1, std::make_shared<Handler>(shared));
  if (!endpoint.ok()) return endpoint.error();
  endpoint_ = std::move(endpoint.value());
  return std::nullopt;
}

uint16_t AdminServer::port() const {
  return endpoint_ ? static_cast<uint16_t>(endpoint_->getPort()) : 0;
}

void AdminServer::Shutdown() {
  if (endpoint_) {
    endpoint_->shutdown();
    endpoint_.reset();
  }
}

}  // namespace qs::http
