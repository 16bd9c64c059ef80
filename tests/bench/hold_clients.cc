// hold_clients: the client side of the benchmark's held-requests scenario.
//
//   hold_clients PORT COUNT TARGET ETAG WAIT KEYS_FILE DATABASE_URL SQL
//
// Opens COUNT connections to 127.0.0.1:PORT, one event loop, no threads,
// and sends on each `GET TARGET` with If-None-Match: ETAG and
// Prefer: wait=WAIT, the Authorization of the keys in KEYS_FILE in turn.
// Prints "SENT" once every request is written, then waits for a line on
// stdin (the benchmark measures the service meanwhile). Then it runs SQL
// (one statement, which commits the change) on DATABASE_URL and reads every
// answer, and prints one line of figures:
//
//   answered=N status_200=N other=N first_ms=F p50_ms=F p99_ms=F last_ms=F
//   commit_ms=F
//
// the times of arrival from the moment the statement was sent (so they
// include the commit itself), and how long the statement took. An answer
// that came before the commit is counted in `other` (the service answered
// a request it should have held).
#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string out;
  size_t sent = 0;
  std::string in;
  bool done = false;
  int status = 0;
  Clock::time_point at;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "hold_clients: %s: %s\n", what.c_str(),
               std::strerror(errno));
  std::exit(1);
}

// Whether `c.in` holds a whole response head (the answers here have no
// body or a small one; the head is enough to know the status).
bool HeadComplete(Conn& c) {
  size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  if (c.in.size() >= 12) c.status = std::atoi(c.in.c_str() + 9);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr,
                 "usage: hold_clients PORT COUNT TARGET ETAG WAIT KEYS_FILE "
                 "DATABASE_URL SQL\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int count = std::atoi(argv[2]);
  const std::string target = argv[3], etag = argv[4], wait = argv[5];
  std::vector<std::string> keys;
  {
    std::ifstream f(argv[6]);
    for (std::string line; std::getline(f, line);) {
      if (!line.empty()) keys.push_back(line);
    }
  }
  if (keys.empty() || count <= 0) {
    std::fprintf(stderr, "hold_clients: no keys, or COUNT not positive\n");
    return 2;
  }
  rlimit lim{static_cast<rlim_t>(count + 1024),
             static_cast<rlim_t>(count + 1024)};
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) Die("setrlimit");

  PGconn* pg = PQconnectdb(argv[7]);
  if (PQstatus(pg) != CONNECTION_OK) {
    std::fprintf(stderr, "hold_clients: %s", PQerrorMessage(pg));
    return 1;
  }

  int ep = epoll_create1(0);
  if (ep < 0) Die("epoll_create1");
  std::vector<Conn> conns(count);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < count; ++i) {
    Conn& c = conns[i];
    c.out = "GET " + target +
            " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
            keys[i % keys.size()] + "\r\nIf-None-Match: " + etag +
            "\r\nPrefer: wait=" + wait + "\r\n\r\n";
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c.fd < 0) Die("socket");
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS) {
      Die("connect");
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) != 0) Die("epoll_ctl");
  }

  std::vector<epoll_event> events(1024);
  int unsent = count;
  int early = 0;  // answered before the commit
  bool committed = false;
  Clock::time_point sql_sent;
  double commit_ms = 0;
  int answered = 0;
  auto pump = [&](int timeout_ms) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()),
                       timeout_ms);
    if (n < 0 && errno != EINTR) Die("epoll_wait");
    for (int k = 0; k < n; ++k) {
      Conn& c = conns[events[k].data.u32];
      if (c.done) continue;
      if ((events[k].events & EPOLLOUT) && c.sent < c.out.size()) {
        ssize_t w = write(c.fd, c.out.data() + c.sent, c.out.size() - c.sent);
        if (w > 0) c.sent += static_cast<size_t>(w);
        if (c.sent == c.out.size()) {
          --unsent;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u32 = events[k].data.u32;
          epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        }
      }
      if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        char buf[4096];
        ssize_t r = read(c.fd, buf, sizeof buf);
        if (r > 0) c.in.append(buf, static_cast<size_t>(r));
        if (HeadComplete(c) || r == 0 || (r < 0 && errno != EAGAIN)) {
          c.done = true;
          c.at = Clock::now();
          ++answered;
          if (!committed) ++early;
          // Closed at the end: a close here would time the client's own
          // teardown of the connection, not the service.
          epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        }
      }
    }
  };
  Clock::time_point start = Clock::now();
  while (unsent > 0) {
    pump(100);
    if (Clock::now() - start > std::chrono::seconds(60)) {
      std::fprintf(stderr, "hold_clients: %d requests unsent after 60 s\n",
                   unsent);
      return 1;
    }
  }
  std::printf("SENT\n");
  std::fflush(stdout);
  std::string go;
  std::getline(std::cin, go);
  // Answers that came meanwhile were not held.
  pump(0);

  committed = true;
  sql_sent = Clock::now();
  PGresult* res = PQexec(pg, argv[8]);
  commit_ms = std::chrono::duration<double, std::milli>(Clock::now() - sql_sent)
                  .count();
  if (PQresultStatus(res) != PGRES_COMMAND_OK &&
      PQresultStatus(res) != PGRES_TUPLES_OK) {
    std::fprintf(stderr, "hold_clients: SQL failed: %s", PQerrorMessage(pg));
    return 1;
  }
  PQclear(res);
  PQfinish(pg);
  while (answered < count &&
         Clock::now() - sql_sent < std::chrono::seconds(30)) {
    pump(100);
  }
  for (const Conn& c : conns) close(c.fd);
  std::vector<double> ms;
  int ok = 0, other = early;
  int by_status[600] = {};
  for (const Conn& c : conns) {
    if (!c.done || c.at < sql_sent) continue;
    ms.push_back(
        std::chrono::duration<double, std::milli>(c.at - sql_sent).count());
    if (c.status > 0 && c.status < 600) ++by_status[c.status];
    if (c.status == 200) {
      ++ok;
    } else {
      ++other;
    }
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    if (ms.empty()) return -1.0;
    size_t i =
        static_cast<size_t>(q * static_cast<double>(ms.size() - 1) + 0.5);
    return ms[std::min(i, ms.size() - 1)];
  };
  std::printf(
      "answered=%d status_200=%d other=%d first_ms=%.2f p50_ms=%.2f "
      "p99_ms=%.2f last_ms=%.2f commit_ms=%.2f\n",
      answered, ok, other, at(0), at(0.5), at(0.99), at(1), commit_ms);
  for (int code = 100; code < 600; ++code) {
    if (by_status[code] > 0)
      std::fprintf(stderr, "status %d: %d\n", code, by_status[code]);
  }
  if (early > 0)
    std::fprintf(stderr, "answered before the commit: %d\n", early);
  return 0;
}
