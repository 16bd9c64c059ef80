#include "http/admin_server.h"

#include <chrono>

#include "api/status_json.h"
#include "http/connection_guard.h"
#include "http/pistache_util.h"

namespace qs::http {
namespace {

constexpr int kAdminThreads = 2;

class Handler final : public GuardedHandler {
 public:
  HTTP_PROTOTYPE(Handler)

  struct Shared {
    Lifecycle& lifecycle;
    metrics::Metrics& metrics;
    const ReadinessMonitor& readiness;
  };

  Handler(std::shared_ptr<Shared> shared,
          std::shared_ptr<ConnectionRegistry> registry)
      : GuardedHandler(std::move(registry)), shared_(std::move(shared)) {}

  void Serve(FramedRequest request, const std::string&, Reply reply) override {
    Shared& s = *shared_;
    const std::string_view path = request.path();
    auto start = std::chrono::steady_clock::now();
    int status = 404;
    std::string route = "other";
    if (request.method != "GET") {
      reply.SetHeader("Allow", "GET");
      status = 405;
      Send(reply, status, "method not allowed\n", "text/plain",
           request.method == "HEAD");
    } else if (path == "/healthz") {
      route = "/healthz";
      status = 200;
      Send(reply, status, "{\"status\":\"alive\"}", "application/json");
    } else if (path == "/readyz") {
      route = "/readyz";
      Readiness r;
      if (s.lifecycle.draining()) {
        r.body = "{\"status\":\"draining\"}";
      } else {
        r = s.readiness.Latest();
      }
      status = r.ready ? 200 : 503;
      Send(reply, status, r.body, "application/json");
    } else if (path == "/metrics") {
      route = "/metrics";
      status = 200;
      Send(reply, status, s.metrics.Serialize(),
           "text/plain; version=0.0.4; charset=utf-8");
    } else {
      Send(reply, status, "not found\n", "text/plain");
    }
    Record(MethodLabel(request.method), route, status, start);
  }

  void Refuse(const FrameError& error, const std::string&,
              Reply reply) override {
    auto start = std::chrono::steady_clock::now();
    Send(reply, error.status,
         api::RenderProblemBody(
             {error.status, "/problems/http", error.title, error.detail, ""}),
         "application/problem+json");
    Record("OTHER", "malformed", error.status, start);
  }

 private:
  void Record(const char* method, const std::string& route, int status,
              std::chrono::steady_clock::time_point start) {
    shared_->metrics.Requests(method, route, status).Increment();
    shared_->metrics.RequestDuration(method, route)
        .Observe(std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - start)
                     .count());
  }

  static void Send(Reply& reply, int status, const std::string& body,
                   const char* content_type, bool head = false) {
    reply.SetHeader("Content-Type", content_type);
    reply.SetHeader("Cache-Control", "no-store");
    // A response to HEAD carries no body (RFC 9110, 9.3.2).
    reply.Send(status, head ? std::string() : body);
  }

  std::shared_ptr<Shared> shared_;
};

}  // namespace

ReadinessMonitor::ReadinessMonitor(Check check, metrics::Metrics& metrics,
                                   std::chrono::milliseconds interval,
                                   std::chrono::milliseconds max_age)
    : check_(std::move(check)),
      metrics_(metrics),
      interval_(interval),
      max_age_(max_age) {}

ReadinessMonitor::~ReadinessMonitor() { Stop(); }

void ReadinessMonitor::Start() {
  Readiness first = check_();
  metrics_.ready().Set(first.ready ? 1 : 0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    latest_ = std::move(first);
    latest_at_ = std::chrono::steady_clock::now();
  }
  thread_ = std::thread([this] { Run(); });
}

void ReadinessMonitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Readiness ReadinessMonitor::Latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::chrono::steady_clock::now() - latest_at_ > max_age_) {
    // The check has not finished for too long: a dependency hangs.
    return Readiness{false, "{\"status\":\"not_ready\",\"check\":\"stale\"}"};
  }
  return latest_;
}

void ReadinessMonitor::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    Readiness r = check_();
    metrics_.ready().Set(r.ready ? 1 : 0);
    lock.lock();
    latest_ = std::move(r);
    latest_at_ = std::chrono::steady_clock::now();
  }
}

AdminServer::AdminServer(config::HostPort listen, Lifecycle& lifecycle,
                         metrics::Metrics& metrics,
                         const ReadinessMonitor& readiness)
    : listen_(std::move(listen)),
      lifecycle_(lifecycle),
      metrics_(metrics),
      readiness_(readiness) {}

AdminServer::~AdminServer() { Shutdown(); }

Status AdminServer::Start() {
  auto shared = std::make_shared<Handler::Shared>(
      Handler::Shared{lifecycle_, metrics_, readiness_});
  GuardOptions guard;
  guard.open_connections = &metrics_.Connections(metrics::Listener::kAdmin);
  registry_ = std::make_shared<ConnectionRegistry>(guard);
  auto endpoint = StartEndpoint(listen_, kAdminThreads,
                                std::make_shared<Handler>(shared, registry_));
  if (!endpoint.ok()) return endpoint.error();
  endpoint_ = std::move(endpoint.value());
  registry_->Start();
  return Status::Ok();
}

uint16_t AdminServer::port() const {
  return endpoint_ ? static_cast<uint16_t>(endpoint_->getPort()) : 0;
}

void AdminServer::Shutdown() {
  if (registry_) registry_->Stop();
  if (endpoint_) {
    endpoint_->shutdown();
    endpoint_.reset();
  }
}

}  // namespace qs::http
