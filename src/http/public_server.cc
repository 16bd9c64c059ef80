#include "http/public_server.h"

#include <chrono>
#include <map>
#include <tuple>

#include "api/status_json.h"
#include "api/url_codec.h"
#include "common/json_string.h"
#include "http/client_address.h"
#include "http/connection_guard.h"
#include "http/error_mapping.h"
#include "http/pistache_util.h"
#include "http/request_id.h"
#include "log/log.h"

namespace qs::http {
namespace {

// Work for a request that has waited this long is dropped, not started.
constexpr std::chrono::seconds kRequestDeadline{10};

constexpr char kStatusRoute[] = "/query/status";
// The status recorded (metrics, access log) for a request whose client left
// before its answer: nginx's "client closed request". Never sent.
constexpr int kClientClosedRequest = 499;
constexpr char kExposedHeaders[] =
    "X-RateLimit-Limit, X-RateLimit-Remaining, RateLimit, RateLimit-Policy, "
    "Retry-After, X-Request-Id, ETag, Preference-Applied";
constexpr char kRealm[] = "Bearer realm=\"querystatus\"";

// Everything the HTTP edge needs to finish one request, wherever it runs.
struct Exchange {
  Reply reply;
  std::string request_id;
  const char* method;
  const char* route;
  std::chrono::steady_clock::time_point start;
  Lifecycle::InFlight in_flight;
  bool head = false;  // a response to HEAD carries no body (RFC 9110, 9.3.2)
};

class Responder {
 public:
  Responder(metrics::Metrics& metrics) : metrics_(metrics) {}

  // Headers every public response carries.
  static void CommonHeaders(Exchange& ex) {
    ex.reply.SetHeader("Access-Control-Allow-Origin", "*");
    ex.reply.SetHeader("Access-Control-Expose-Headers", kExposedHeaders);
    ex.reply.SetHeader("Cache-Control", "no-store");
    ex.reply.SetHeader("X-Request-Id", ex.request_id);
  }

  static void RateHeaders(Exchange& ex, const api::RateInfo& rate) {
    std::string limit = std::to_string(rate.limit);
    std::string remaining = std::to_string(rate.remaining);
    ex.reply.SetHeader("X-RateLimit-Limit", limit);
    ex.reply.SetHeader("X-RateLimit-Remaining", remaining);
    ex.reply.SetHeader("RateLimit-Policy", "\"hourly\";q=" + limit + ";w=3600");
    ex.reply.SetHeader("RateLimit", "\"hourly\";r=" + remaining + ";t=" +
                                        std::to_string(rate.reset_seconds));
  }

  // Sends and records the request in the metrics and the access log, as
  // `recorded` when it is not 0 (499: the client had gone, so what was sent
  // reached nobody).
  void Finish(Exchange& ex, int status, const std::string& body,
              const char* content_type, int64_t license_id, int64_t rows,
              const std::string& client, int recorded = 0) {
    if (content_type != nullptr)
      ex.reply.SetHeader("Content-Type", content_type);
    ex.reply.Send(status, ex.head ? std::string() : body);
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - ex.start)
                         .count();
    if (recorded != 0) status = recorded;
    Series& series = SeriesFor(ex.method, ex.route, status);
    series.requests->Increment();
    series.duration->Observe(seconds);
    AccessLog(ex, status, seconds, license_id, rows, client);
  }

  void SendReply(Exchange& ex, const api::StatusReply& reply,
                 const std::string& client) {
    CommonHeaders(ex);
    if (!reply.error) {
      // A 304 carries what a 200 would of the headers that describe the
      // representation, and no body.
      ex.reply.SetHeader("ETag", reply.etag);
      ex.reply.SetHeader("Vary", "Accept-Encoding");
      if (reply.wait_applied > 0) {
        ex.reply.SetHeader("Preference-Applied",
                           "wait=" + std::to_string(reply.wait_applied));
      }
      RateHeaders(ex, *reply.rate);
      if (reply.not_modified) {
        Finish(ex, 304, "", nullptr, reply.license_id, 0, client);
      } else {
        if (reply.coding != Encoding::kIdentity) {
          ex.reply.SetHeader("Content-Encoding",
                             std::string(EncodingName(reply.coding)));
        }
        Finish(ex, 200, reply.body, "application/json", reply.license_id,
               reply.rows, client);
      }
      return;
    }
    const Error& error = *reply.error;
    HttpError h = MapError(error.code);
    if (reply.client_gone) {
      Finish(ex, h.status, ProblemBody(error, ex.request_id),
             "application/problem+json", reply.license_id, 0, client,
             kClientClosedRequest);
      return;
    }
    if (h.status == 500) {
      log::Event(log::Level::kError, "request_failed",
                 {{"request_id", ex.request_id},
                  {"code", ErrorCodeName(error.code)},
                  {"error", error.internal}});
    } else if (reply.rate) {
      RateHeaders(ex, *reply.rate);
    }
    if (h.status == 429 && reply.rate) {
      int64_t retry = std::max<int64_t>(
          1, std::min<int64_t>(86400, reply.rate->reset_seconds));
      ex.reply.SetHeader("Retry-After", std::to_string(retry));
    }
    if (h.status == 401) {
      std::string challenge = kRealm;
      if (reply.credential_given) challenge += ", error=\"invalid_token\"";
      ex.reply.SetHeader("WWW-Authenticate", challenge);
    }
    if (h.status == 404) {
      Finish(ex, 404, api::RenderNotFoundBody(), "application/json",
             reply.license_id, 0, client);
      return;
    }
    Finish(ex, h.status, ProblemBody(error, ex.request_id),
           "application/problem+json", reply.license_id, 0, client);
  }

 private:
  void AccessLog(const Exchange& ex, int status, double seconds,
                 int64_t license_id, int64_t rows, const std::string& client) {
    if (!log::Enabled(log::Level::kInfo)) return;
    // Never the path with its query string, nor any header: the query string
    // may hold an api_key.
    std::string line;
    line.reserve(256);
    line += "{\"ts\":";
    log::AppendTimestamp(line);
    line += ",\"level\":\"info\",\"event\":\"access\",\"request_id\":";
    AppendJsonString(line, ex.request_id);
    line += ",\"method\":\"";
    line += ex.method;
    line += "\",\"route\":\"";
    line += ex.route;
    line += "\",\"status\":";
    line += std::to_string(status);
    line += ",\"duration_ms\":";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", seconds * 1000);
    line += buf;
    line += ",\"rows\":";
    line += std::to_string(rows);
    line += ",\"license_id\":";
    line += license_id > 0 ? std::to_string(license_id) : "null";
    line += ",\"client\":";
    AppendJsonString(line, client);
    line += '}';
    log::Line(line);
  }

  // The labelled children of one (method, route, status). Family::Add locks
  // and hashes its labels, so each thread keeps the children it has used;
  // method and route are string literals, so their addresses are the key.
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };
  Series& SeriesFor(const char* method, const char* route, int status) {
    using Key =
        std::tuple<const metrics::Metrics*, const char*, const char*, int>;
    thread_local std::map<Key, Series> cache;
    Key key{&metrics_, method, route, status};
    auto it = cache.find(key);
    if (it == cache.end()) {
      it = cache
               .emplace(key, Series{&metrics_.Requests(method, route, status),
                                    &metrics_.RequestDuration(method, route)})
               .first;
    }
    return it->second;
  }

  metrics::Metrics& metrics_;
};

class Handler final : public GuardedHandler {
 public:
  HTTP_PROTOTYPE(Handler)

  struct Shared {
    PublicServerOptions options;
    api::StatusService& service;
    WorkerPool& workers;
    Lifecycle& lifecycle;
    metrics::Metrics& metrics;
    Responder responder;
  };

  Handler(std::shared_ptr<Shared> shared,
          std::shared_ptr<ConnectionRegistry> registry)
      : GuardedHandler(std::move(registry)), shared_(std::move(shared)) {}

  void Serve(FramedRequest request, const std::string& client,
             Reply reply) override {
    Shared& s = *shared_;
    const bool is_status = request.path() == kStatusRoute;
    auto ex = std::make_shared<Exchange>(Exchange{
        std::move(reply), NewRequestId(), MethodLabel(request.method),
        is_status ? kStatusRoute : "other", std::chrono::steady_clock::now(),
        Lifecycle::InFlight(&s.lifecycle)});
    ex->head = request.method == "HEAD";
    // While draining, every answer asks the client to go elsewhere.
    if (s.lifecycle.draining()) ex->reply.CloseAfter();

    if (s.lifecycle.closed()) {
      // Shutting down: the requests in flight finish, new ones go elsewhere.
      return Refuse503(*ex, "The instance is shutting down, retry", client);
    }
    if (!is_status) {
      Responder::CommonHeaders(*ex);
      Done(
          *ex, 404,
          EdgeProblemBody(404, "Not Found", "No such resource", ex->request_id),
          client);
      return;
    }
    if (request.method == "OPTIONS") {
      Responder::CommonHeaders(*ex);
      ex->reply.SetHeader("Access-Control-Allow-Methods", "GET, OPTIONS");
      ex->reply.SetHeader("Access-Control-Allow-Headers",
                          "Authorization, If-None-Match, Prefer");
      ex->reply.SetHeader("Access-Control-Max-Age", "86400");
      s.responder.Finish(*ex, 204, "", nullptr, 0, 0, client);
      return;
    }
    if (request.method != "GET") {
      Responder::CommonHeaders(*ex);
      ex->reply.SetHeader("Allow", "GET, OPTIONS");
      Done(*ex, 405,
           EdgeProblemBody(405, "Method Not Allowed",
                           "Only GET and OPTIONS are allowed here",
                           ex->request_id),
           client);
      return;
    }

    api::StatusCall call;
    call.request_id = ex->request_id;
    call.json_param = api::FindQueryParam(request.query(), "json", nullptr);
    call.authorization = request.Header("authorization");
    call.if_none_match = request.CombinedHeader("if-none-match");
    call.prefer = request.CombinedHeader("prefer");
    call.accept_encoding = request.CombinedHeader("accept-encoding");
    call.client_address =
        ResolveClientAddress(client, request.CombinedHeader("x-forwarded-for"),
                             s.options.trusted_proxies);
    call.deadline = ex->start + kRequestDeadline;
    call.client_gone = ex->reply.GoneCheck();

    if (s.workers.Full()) {
      // Overloaded: refuse at once rather than queue without bound.
      return Refuse503(*ex, "The service is overloaded, retry shortly", client);
    }
    auto shared = shared_;
    std::string client_address = call.client_address;
    s.service.HandleAsync(std::move(call), s.workers,
                          [shared, ex, client_address](api::StatusReply reply) {
                            // A request held across the start of the drain
                            // is answered with Connection: close too.
                            if (shared->lifecycle.draining()) {
                              ex->reply.CloseAfter();
                            }
                            shared->responder.SendReply(*ex, reply,
                                                        client_address);
                          });
  }

  void Refuse(const FrameError& error, const std::string& client,
              Reply reply) override {
    Shared& s = *shared_;
    auto ex = std::make_shared<Exchange>(Exchange{
        std::move(reply), NewRequestId(), "OTHER", "malformed",
        std::chrono::steady_clock::now(), Lifecycle::InFlight(&s.lifecycle)});
    Responder::CommonHeaders(*ex);
    Done(*ex, error.status,
         EdgeProblemBody(error.status, error.title, error.detail,
                         ex->request_id),
         client);
  }

 private:
  // 503 with Retry-After: this instance will not take the request now.
  void Refuse503(Exchange& ex, const char* detail, const std::string& client) {
    Responder::CommonHeaders(ex);
    ex.reply.SetHeader("Retry-After", "1");
    Done(ex, 503,
         EdgeProblemBody(503, "Service Unavailable", detail, ex.request_id),
         client);
  }

  void Done(Exchange& ex, int status, const std::string& body,
            const std::string& client) {
    shared_->responder.Finish(ex, status, body, "application/problem+json", 0,
                              0, client);
  }

  std::shared_ptr<Shared> shared_;
};

}  // namespace

PublicServer::PublicServer(PublicServerOptions options,
                           api::StatusService& service, WorkerPool& workers,
                           Lifecycle& lifecycle, metrics::Metrics& metrics)
    : options_(std::move(options)),
      service_(service),
      workers_(workers),
      lifecycle_(lifecycle),
      metrics_(metrics) {}

PublicServer::~PublicServer() { Shutdown(); }

Status PublicServer::Start() {
  auto shared = std::make_shared<Handler::Shared>(Handler::Shared{
      options_, service_, workers_, lifecycle_, metrics_, Responder(metrics_)});
  GuardOptions guard;
  guard.open_connections = &metrics_.Connections(metrics::Listener::kPublic);
  guard.accept_backoffs = &metrics_.accept_backoffs();
  guard.idle_timeout = options_.keepalive_timeout;
  registry_ = std::make_shared<ConnectionRegistry>(guard);
  auto endpoint = StartEndpoint(options_.listen, options_.threads,
                                std::make_shared<Handler>(shared, registry_));
  if (!endpoint.ok()) return endpoint.error();
  endpoint_ = std::move(endpoint.value());
  registry_->Start();
  return Status::Ok();
}

uint16_t PublicServer::port() const {
  return endpoint_ ? static_cast<uint16_t>(endpoint_->getPort()) : 0;
}

void PublicServer::Shutdown() {
  if (registry_) registry_->Stop();
  if (endpoint_) {
    endpoint_->shutdown();
    endpoint_.reset();
  }
}

}  // namespace qs::http
