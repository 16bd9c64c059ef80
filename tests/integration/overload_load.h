#pragma once

// A small keep-alive HTTP/1.1 load generator for the overload tests: each
// Connection sends one request at a time on one socket (reconnecting when
// the server closes it) and reads the whole answer, so a loop of them is a
// closed-loop client whose rate is what the server sustains. Loopback only.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/raw_connection.h"

namespace qs::testing {

class Connection {
 public:
  explicit Connection(int port) : port_(port) {}
  ~Connection() { Close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `request` (a whole HTTP request) and returns the status code, or
  // 0 when no answer came within `timeout_ms` (the connection is then
  // closed: the next call reconnects, as a client that gave up would).
  // A `timeout_ms` of 0 sends and closes at once without reading.
  int Send(const std::string& request, int timeout_ms) {
    if (fd_ < 0 && !Connect()) return 0;
    if (!SendAll(fd_, request)) {
      Close();
      if (!Connect() || !SendAll(fd_, request)) return 0;
    }
    if (timeout_ms <= 0) {
      Close();
      return 0;
    }
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(timeout_ms);
    buffer_.clear();
    size_t header_end = std::string::npos;
    size_t need = 0;
    for (;;) {
      if (header_end == std::string::npos) {
        header_end = buffer_.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          need = header_end + 4 + ContentLength(buffer_.substr(0, header_end));
        }
      }
      if (header_end != std::string::npos && buffer_.size() >= need) break;
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(
              until - std::chrono::steady_clock::now())
              .count());
      if (left <= 0 || !ReadSome(left)) {
        Close();
        return 0;
      }
    }
    int status = std::atoi(buffer_.c_str() + 9);  // "HTTP/1.1 200"
    if (buffer_.substr(0, header_end).find("onnection: close") !=
            std::string::npos ||
        buffer_.substr(0, header_end).find("onnection: Close") !=
            std::string::npos) {
      Close();
    }
    return status;
  }

  // Opens the connection now (so that later requests do not wait in a busy
  // accept queue); true when it is open.
  bool Reconnect() {
    Close();
    return Connect();
  }

 private:
  bool Connect() {
    fd_ = ConnectLoopback(port_, /*receive_buffer=*/0, /*no_delay=*/true);
    return fd_ >= 0;
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  bool ReadSome(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[16384];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }
  static size_t ContentLength(const std::string& headers) {
    std::string lower = headers;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    size_t p = lower.find("content-length:");
    if (p == std::string::npos) return 0;
    return static_cast<size_t>(
        std::strtoull(lower.c_str() + p + 15, nullptr, 10));
  }

  int port_;
  int fd_ = -1;
  std::string buffer_;
};

// A client that sends without waiting for answers: a reader thread drains
// (and discards) whatever the server sends, so the server's writes never
// back up. Closed on destruction.
class OpenLoopConnection {
 public:
  explicit OpenLoopConnection(int port) {
    fd_ = ConnectLoopback(port, /*receive_buffer=*/0, /*no_delay=*/true);
    ok_ = fd_ >= 0;
    if (ok_) {
      reader_ = std::thread([fd = fd_] {
        char buf[65536];
        while (recv(fd, buf, sizeof buf, 0) > 0) {
        }
      });
    }
  }
  ~OpenLoopConnection() {
    if (fd_ < 0) return;
    shutdown(fd_, SHUT_RDWR);
    if (reader_.joinable()) reader_.join();
    close(fd_);
  }
  bool Write(const std::string& s) {
    if (ok_ && !SendAll(fd_, s)) ok_ = false;
    return ok_;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::thread reader_;
};

// A GET of /query/status with the given raw (already encoded) json value.
inline std::string StatusRequestText(const std::string& encoded_json,
                                     const std::string& token,
                                     const std::string& forwarded_for) {
  std::string r = "GET /query/status?json=" + encoded_json +
                  " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n";
  if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
  if (!forwarded_for.empty()) r += "X-Forwarded-For: " + forwarded_for + "\r\n";
  return r + "\r\n";
}

// The p-th percentile (0..100) of `v` (sorted in place).
inline double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
  return v[i];
}

// Resident memory of process `pid`, in KiB (0 if unknown).
inline long RssKiB(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

}  // namespace qs::testing
