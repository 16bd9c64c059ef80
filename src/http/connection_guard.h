// The connection layer under both listeners. Pistache 0.0.5 reads sockets
// and writes responses well, but its HTTP parser answers only the first of
// pipelined requests, accepts a negative or repeated Content-Length, answers
// its own errors without the service's headers, and its transport queues
// unsent bytes without bound. So the service takes each connection's bytes
// in `onInput`, before Pistache's parser would see them, and does the HTTP/1.1
// work itself:
//
//  - framing by http/request_framer.h: a malformed request is refused with
//    problem details (through `Refuse`, so with the every-response headers),
//    then the connection is closed;
//  - one request at a time per connection: the next pipelined request is
//    served only once the previous response has been written to the socket,
//    so answers go out in order and a client that never reads holds at most
//    one response and a bounded input buffer (past it, the connection is
//    closed);
//  - its own timers, on one housekeeping thread per listener: a request
//    whose head and body have not arrived within `header_timeout` gets 408;
//    an idle keep-alive connection is closed after `idle_timeout`; a
//    response the client does not read within `send_timeout` closes the
//    connection. A request being answered (however long that takes) is
//    never timed out here, and Pistache's own timers are switched off.
//
// Thread model. Pistache calls onConnection, onInput and onDisconnection on
// the connection's transport thread. `Serve` and `Refuse` run on that thread
// too, or on the thread that saw the previous response written (the
// transport thread, or the thread that sent it, when the write completed
// before its continuation was attached), or for a 408 on the housekeeping
// thread: they must not block. `Reply::Send` may be called from any thread,
// exactly once.
#pragma once

#include <pistache/http.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/request_framer.h"
#include "http/response_bytes.h"

namespace qs::http {

class Connection;

struct GuardOptions {
  FramerLimits limits;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds idle_timeout{75000};
  std::chrono::milliseconds send_timeout{30000};
  // After a response that closes the connection, how long the client may
  // take to close its side before the socket is shut down both ways.
  std::chrono::milliseconds linger{2000};
  // Bytes received and not yet served, per connection; more: closed.
  size_t max_buffered_input = 96 * 1024;
  std::chrono::milliseconds tick{100};
  // Optional: kept equal to the number of open connections.
  prometheus::Gauge* open_connections = nullptr;
  // Optional: the housekeeping thread adds the accept loop's pauses to it
  // (give it to one listener only: the count is per process).
  prometheus::Counter* accept_backoffs = nullptr;
};

// The one answer to one request. Movable; send it exactly once, from any
// thread. Keeps its connection's state alive, never the socket: once the
// client has gone, Send does nothing.
//
// The response is serialized here and handed to the transport as one raw
// write, not through Pistache's ResponseWriter: its send() returns a chained
// promise whose resolution (on the transport thread) does not take the lock
// that attaching a continuation (on a worker thread) takes, so now and then
// the continuation was attached just too late, never ran, and the
// connection waited forever for a write that had long completed. The
// transport's own write promise resolves and attaches under one lock.
class Reply {
 public:
  explicit Reply(std::shared_ptr<Connection> connection);
  Reply(Reply&&) noexcept;
  Reply& operator=(Reply&&) = delete;
  ~Reply();

  // Adds a response header (sent in the order added). `name` and `value`
  // are the service's own text, never a client's.
  void SetHeader(std::string name, std::string value);
  // Close the connection once this response is written, and say so in a
  // "Connection: close" header (e.g. while the instance drains).
  void CloseAfter();
  // Writes the response. False when the client has already gone.
  bool Send(int status, const std::string& body);
  // Whether the client has gone (its connection closed). Any thread.
  bool ClientGone() const;
  // The same check as a callable that outlives this Reply.
  std::function<bool()> GoneCheck() const;

 private:
  ResponseHeaders headers_;
  std::shared_ptr<Connection> connection_;
  bool sent_ = false;
};

// The connections of one listener and the thread that runs their timers.
class ConnectionRegistry {
 public:
  explicit ConnectionRegistry(GuardOptions options);
  ~ConnectionRegistry();
  ConnectionRegistry(const ConnectionRegistry&) = delete;
  ConnectionRegistry& operator=(const ConnectionRegistry&) = delete;

  const GuardOptions& options() const { return options_; }
  void Start();
  // Joins the housekeeping thread, then marks every connection closed so no
  // late Reply writes to a socket after the endpoint is gone. Call before
  // shutting the endpoint down, after every producer of replies stopped.
  void Stop();
  size_t open() const;

  void Add(const std::shared_ptr<Connection>& c);
  void Remove(const Connection* c);

 private:
  void Run();

  const GuardOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::unordered_map<const Connection*, std::weak_ptr<Connection>> conns_;
  std::thread thread_;
};

// Base of the service's Pistache handlers: frames requests and hands each
// to Serve, or a refusal to Refuse (see the file comment).
class GuardedHandler : public Pistache::Http::Handler {
 public:
  explicit GuardedHandler(std::shared_ptr<ConnectionRegistry> registry);

  void onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onDisconnection(
      const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onInput(const char* buffer, size_t len,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  // Never called: Pistache's parser is never fed.
  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter writer) final;

  // Answer `request` through `reply`. `peer_host` is the socket's address.
  virtual void Serve(FramedRequest request, const std::string& peer_host,
                     Reply reply) = 0;
  // Answer a request that could not be framed, or did not arrive in time,
  // with problem details for `error`; the connection closes afterwards.
  virtual void Refuse(const FrameError& error, const std::string& peer_host,
                      Reply reply) = 0;

 private:
  friend class Connection;
  std::shared_ptr<ConnectionRegistry> registry_;
};

// How often the accept loop was paused because the process ran out of file
// descriptors (see accept4 in connection_guard.cc).
uint64_t AcceptBackoffs();

}  // namespace qs::http
