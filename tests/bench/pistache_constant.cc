// pistache_constant: the "Pistache handler that returns a constant,
// keep-alive" reference (P) of the naive ceiling, measured by
// tests/bench/run beside the service (see tests/bench/README.md).
//
// Usage: pistache_constant PORT [BODY_FILE]
//   Listens on 127.0.0.1:PORT with a Pistache 0.0.5 Http::Endpoint on 2
//   threads and answers every request 200 with a constant body, Content-Type
//   application/json. The body is BODY_FILE's bytes (the bench passes the
//   captured poll response, so the size matches it exactly), or a built-in
//   poll-shaped JSON of 212 bytes. Stops on SIGTERM or SIGINT.
//
// The endpoint is set up like the service's (src/http/pistache_util.cc
// StartEndpoint: ReuseAddr, NoDelay, backlog 4096) and has the same
// keep-alive fix (PrepareConnectionHeader): Pistache 0.0.5 answers an
// HTTP/1.1 request without a Connection header with "Connection: Close"
// yet keeps the socket open, so wrk reconnects per request unless that
// header is removed. Nothing else of the service is here: this measures the
// HTTP layer alone.

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/net.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

namespace {

constexpr int kThreads = 2;
constexpr int kBacklog = 4096;

// A RUNNING poll's answer (docs/api.md, "200 response"), 212 bytes.
constexpr char kDefaultBody[] =
    "{\"meta\":{\"request_id\":\"3kPq0e6bLrV1yq9XwS2m1A\","
    "\"schedule_id\":\"bench_running\",\"status_code\":\"RUNNING\","
    "\"progress\":{\"queries_ready\":1,\"queries_total\":3},"
    "\"workflow\":{\"tasks_scheduled\":2,\"tasks_running\":1}},"
    "\"data\":[]}";

class ConstantHandler final : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(ConstantHandler)

  explicit ConstantHandler(std::shared_ptr<const std::string> body)
      : body_(std::move(body)) {}

  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter writer) override {
    using Pistache::Http::Header::Connection;
    // The service's keep-alive fix: no Connection header means keep-alive
    // in HTTP/1.1.
    if (request.version() == Pistache::Http::Version::Http11 &&
        !request.headers().tryGet<Connection>()) {
      writer.headers().remove<Connection>();
    }
    writer.send(Pistache::Http::Code::Ok, *body_, MIME(Application, Json));
  }

 private:
  std::shared_ptr<const std::string> body_;
};

bool ParsePort(const char* text, uint16_t* port) {
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < 1 || value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

bool ReadFile(const char* path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return static_cast<bool>(in) || in.eof();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s PORT [BODY_FILE]\n", argv[0]);
    return 2;
  }
  uint16_t port = 0;
  if (!ParsePort(argv[1], &port)) {
    std::fprintf(stderr, "pistache_constant: bad port '%s'\n", argv[1]);
    return 2;
  }
  std::string body = kDefaultBody;
  if (argc == 3 && !ReadFile(argv[2], &body)) {
    std::fprintf(stderr, "pistache_constant: cannot read '%s'\n", argv[2]);
    return 2;
  }

  // Block the stop signals before Pistache starts its threads, so that they
  // inherit the mask and sigwait below is the only receiver.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<Pistache::Http::Endpoint> endpoint;
  try {
    using Pistache::Flags;
    using Pistache::Tcp::Options;
    Pistache::Address address(Pistache::Ipv4::loopback(), Pistache::Port(port));
    endpoint = std::make_unique<Pistache::Http::Endpoint>(address);
    Flags<Options> flags(Options::ReuseAddr);
    flags |= Options::NoDelay;
    endpoint->init(
        Pistache::Http::Endpoint::options().threads(kThreads).flags(flags));
    // Options::backlog() does not reach the listener in 0.0.5; this does.
    endpoint->initArgs(static_cast<size_t>(kThreads), flags, std::string(),
                       kBacklog);
    endpoint->setHandler(std::make_shared<ConstantHandler>(
        std::make_shared<const std::string>(std::move(body))));
    endpoint->serveThreaded();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pistache_constant: cannot listen on port %u: %s\n",
                 static_cast<unsigned>(port), e.what());
    return 1;
  }
  std::fprintf(stderr, "pistache_constant: listening on 127.0.0.1:%u\n",
               static_cast<unsigned>(port));

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  try {
    endpoint->shutdown();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pistache_constant: shutdown: %s\n", e.what());
  }
  return 0;
}
