#include "support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "api/url_codec.h"

namespace qs::testing {

std::string StatusTarget(const std::string& json) {
  return "/query/status?json=" + api::PercentEncode(json);
}

HttpResponse HttpRequest(int port, const std::string& method,
                         const std::string& target,
                         const std::map<std::string, std::string>& headers,
                         int timeout_ms) {
  HttpResponse response;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return response;
  }
  std::string request =
      method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool connection_given = false;
  for (const auto& [k, v] : headers) {
    if (k == "Connection") {
      connection_given = true;
      if (v.empty()) continue;  // no Connection header at all
    }
    request += k + ": " + v + "\r\n";
  }
  if (!connection_given) request += "Connection: close\r\n";
  request += "\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return response;
    }
    sent += static_cast<size_t>(n);
  }
  // Read until the body is complete (Content-Length) or the peer closes.
  std::string raw;
  char buf[65536];
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t header_end = std::string::npos;
  size_t content_length = std::string::npos;
  for (;;) {
    if (header_end != std::string::npos &&
        content_length != std::string::npos &&
        raw.size() >= header_end + 4 + content_length) {
      break;
    }
    int left =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                             deadline - std::chrono::steady_clock::now())
                             .count());
    if (left <= 0) {
      close(fd);
      return HttpResponse{};
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
    if (header_end == std::string::npos) {
      header_end = raw.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::string head = raw.substr(0, header_end);
        size_t line_end = head.find("\r\n");
        std::string status_line = head.substr(0, line_end);
        auto sp = status_line.find(' ');
        response.status = std::atoi(status_line.c_str() + sp + 1);
        size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
          size_t eol = head.find("\r\n", pos);
          if (eol == std::string::npos) eol = head.size();
          std::string line = head.substr(pos, eol - pos);
          auto colon = line.find(':');
          if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), ::tolower);
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            response.headers[name] = value;
          }
          pos = eol + 2;
        }
        if (response.headers.count("content-length")) {
          content_length = std::stoul(response.headers["content-length"]);
        }
      }
    }
  }
  close(fd);
  if (header_end == std::string::npos) return HttpResponse{};
  response.body = raw.substr(header_end + 4);
  if (content_length != std::string::npos &&
      response.body.size() > content_length) {
    response.body.resize(content_length);
  }
  return response;
}

}  // namespace qs::testing
