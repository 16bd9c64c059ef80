// Raw loopback sockets for tests that need bytes an HTTP client would not
// send (pipelining, malformed framing, slow readers) or a peer that never
// answers. Loopback only.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace qs::testing {

// A TCP socket connected to 127.0.0.1:`port`, or -1. A `receive_buffer` above
// 0 sets SO_RCVBUF before connecting; `no_delay` sets TCP_NODELAY.
int ConnectLoopback(int port, int receive_buffer = 0, bool no_delay = false);

// Sends all of `bytes` on `fd` (no SIGPIPE); false when the peer is gone.
bool SendAll(int fd, std::string_view bytes);

// A TCP socket listening on 127.0.0.1 at an ephemeral port, or -1; sets
// *port to that port.
int ListenLoopback(int backlog, int* port);

// Complete responses (head and Content-Length body) at the start of `s`.
size_t CountResponses(const std::string& s);

// A plain TCP client: writes raw bytes, reads whatever comes back. Closed on
// destruction.
class RawConnection {
 public:
  explicit RawConnection(int port, int receive_buffer = 0);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool Write(const std::string& bytes) { return SendAll(fd_, bytes); }

  // Reads until the peer closes or `timeout` passes; `*closed` says which.
  std::string ReadAll(std::chrono::milliseconds timeout,
                      bool* closed = nullptr);

  // Reads until `count` complete responses have arrived (or the timeout).
  std::string ReadResponses(size_t count, std::chrono::milliseconds timeout);

  static size_t CountResponses(const std::string& s) {
    return testing::CountResponses(s);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace qs::testing
