#include "http/connection_guard.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pistache/peer.h>
#include <pistache/transport.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

// Not instrumented by any sanitizer: close() runs inside a sanitizer's
// runtime as well (see hold_flags).
#define QS_NO_SANITIZE \
  __attribute__((no_sanitize("address", "thread", "undefined")))

namespace qs::http {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kConnectionData[] = "qs.conn";

std::atomic<uint64_t> accept_backoffs{0};

// Pistache 0.0.5 keys its write queue by descriptor number. An answer queued
// just before its client disconnects is taken from the queue on the
// transport's next turn; if by then a new connection had been accepted onto
// the same number, the answer would go to that other client. So the number
// of a connection that closes with an answer still queued is kept busy for
// a while: Pistache's close() of it (see close() below) replaces the socket
// with a placeholder (the socket itself is closed at once), and the
// housekeeping thread releases the number once the transport has had its
// turns, by which time the stale write has been dropped (no such peer).
//
// close() below reads the numbers to hold without a lock: a sanitizer's
// runtime calls close() too (its symbolizer, while it holds its own locks
// to print a report), and a lock or an instrumented access there deadlocks
// it. So each number has an atomic flag of its own, in an array with one
// byte per possible descriptor (up to the hard RLIMIT_NOFILE, at most
// 1 MiB), allocated when the first listener is set up: any number of
// disconnects can be held at once, and close() costs two loads.
constexpr std::chrono::milliseconds kQuarantine{500};
std::atomic<std::atomic<uint8_t>*> hold_flags{nullptr};
size_t hold_flags_size = 0;  // written once, before hold_flags
std::mutex quarantine_mu;
std::vector<std::pair<int, Clock::time_point>> quarantined;  // held now
int placeholder_fd = -1;  // /dev/null, opened on first use (quarantine_mu)

void AllocateHoldFlags() {
  static std::once_flag once;
  std::call_once(once, [] {
    rlimit limit{};
    rlim_t n = 65536;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      n = std::max(limit.rlim_cur, limit.rlim_max);
    }
    n = std::min<rlim_t>(std::max<rlim_t>(n, 1024), rlim_t{1} << 20);
    hold_flags_size = static_cast<size_t>(n);
    hold_flags.store(new std::atomic<uint8_t>[hold_flags_size](),
                     std::memory_order_release);
  });
}

void QuarantineOnClose(int fd) {
  std::atomic<uint8_t>* flags = hold_flags.load(std::memory_order_acquire);
  if (flags != nullptr && fd >= 0 &&
      static_cast<size_t>(fd) < hold_flags_size) {
    flags[fd].store(1);
  }
}

// True when `fd` was to be held: it now refers to the placeholder. Called
// for every close() in the process (see there), so the common case is two
// loads.
QS_NO_SANITIZE bool HoldInsteadOfClosing(int fd) {
  std::atomic<uint8_t>* flags = hold_flags.load(std::memory_order_acquire);
  if (flags == nullptr || fd < 0 ||
      static_cast<size_t>(fd) >= hold_flags_size) {
    return false;
  }
  if (flags[fd].load(std::memory_order_relaxed) == 0 ||
      flags[fd].exchange(0) == 0) {
    return false;
  }
  std::lock_guard<std::mutex> lock(quarantine_mu);
  if (placeholder_fd < 0) {
    placeholder_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  }
  if (placeholder_fd < 0 || ::dup2(placeholder_fd, fd) < 0) return false;
  quarantined.emplace_back(fd, Clock::now());
  return true;
}

// Housekeeping thread: closes the numbers held long enough.
void ReleaseQuarantined(Clock::time_point now) {
  std::vector<int> release;
  {
    std::lock_guard<std::mutex> lock(quarantine_mu);
    for (auto it = quarantined.begin(); it != quarantined.end();) {
      if (now - it->second >= kQuarantine) {
        release.push_back(it->first);
        it = quarantined.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (int fd : release) syscall(SYS_close, fd);
}

}  // namespace

// The state of one client connection; see connection_guard.h. Every member
// below mu_ is guarded by it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(GuardedHandler* handler, Pistache::Tcp::Transport* transport,
             int fd, std::string host, const GuardOptions& options)
      : handler_(handler),
        transport_(transport),
        fd_(fd),
        host_(std::move(host)),
        options_(options),
        last_activity_(Clock::now()) {}

  // Transport thread: bytes arrived.
  void OnInput(const char* data, size_t len) {
    bool kick = false;
    bool dispatch = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || shut_) return;
      last_activity_ = Clock::now();
      // Each kick queues an entry that is freed only once the answer is
      // written: a client that writes without reading would pile them up,
      // so at most kMaxKicks per answer (the housekeeping tick kicks on).
      const auto now = last_activity_;
      if (write_pending_ && kicks_ < kMaxKicks) {
        kick = true;
        ++kicks_;
        last_kick_ = now;
      }
      // Closing, or past the bound: read and drop, so that the client can
      // finish writing and read what it is owed (closing a socket with
      // unread bytes would reset it and lose the answer in flight).
      if (!discard_input_) {
        if (buffer_.size() + len > options_.max_buffered_input) {
          // Sends without reading our answers: keep what is buffered (at
          // most the bound), answer the complete requests in it, then close.
          overflow_ = true;
          discard_input_ = true;
        } else {
          buffer_.append(data, len);
        }
        dispatch = !busy_;
      }
    }
    if (kick) KickPendingWrite();
    if (dispatch) Dispatch();
  }

  // Pistache 0.0.5's event loop handles a readiness event as a read when it
  // is both readable and writable, and its sockets are edge-triggered: a
  // queued answer whose "writable" edge came together with new input is
  // never written. Input is exactly when that happens, so on input with an
  // answer pending, queue an empty write: the transport re-arms the socket
  // for writing when it takes that write from its queue (on its next turn,
  // after this read), and the writable edge then writes everything queued.
  // (Flushing the transport's queue from here instead would write other
  // sockets out of turn, and a writable event already collected for one of
  // them would then find no queue and abort the process.)
  static constexpr int kMaxKicks = 64;
  void KickPendingWrite() { Write(std::string()); }

  // Transport thread, before Pistache closes the socket.
  void OnDisconnected() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    buffer_.clear();
    // An answer (or a kick) may still sit in the transport's queue.
    if (write_pending_) QuarantineOnClose(fd_);
  }

  // Serves the next buffered request, if none is outstanding.
  void Dispatch() {
    std::unique_lock<std::mutex> lock(mu_);
    if (busy_ || closed_ || shut_ || lingering_) return;
    if (buffer_.empty()) {
      if (overflow_) CloseGracefullyLocked();
      return;
    }
    FrameResult r = FrameRequest(buffer_, options_.limits);
    switch (r.kind) {
      case FrameResult::Kind::kNeedMore:
        if (overflow_) {
          // The rest was dropped: nothing more can be framed.
          CloseGracefullyLocked();
          return;
        }
        if (!partial_) {
          partial_ = true;
          partial_since_ = Clock::now();
        }
        return;
      case FrameResult::Kind::kError:
        BeginRefusalLocked();
        lock.unlock();
        handler_->Refuse(r.error, host_, MakeReply());
        return;
      case FrameResult::Kind::kRequest:
        break;
    }
    buffer_.erase(0, r.consumed);
    partial_ = false;
    busy_ = true;
    close_after_ = !r.request.keep_alive;
    minor_version_ = r.request.minor_version;
    lock.unlock();
    handler_->Serve(std::move(r.request), host_, MakeReply());
  }

  // Housekeeping thread: the timers.
  void Tick(Clock::time_point now) {
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_ || shut_) return;
    if (lingering_) {
      if (now - linger_since_ > options_.linger) ShutdownLocked(SHUT_RDWR);
      return;
    }
    if (write_pending_) {
      if (now - sent_at_ > options_.send_timeout) {
        ShutdownLocked(SHUT_RDWR);
      } else if (now - sent_at_ > 2 * options_.tick &&
                 now - last_kick_ >= options_.tick) {
        // An answer pending for longer than it should be: whatever edge was
        // missed, re-arm the socket (once a tick at most).
        last_kick_ = now;
        lock.unlock();
        KickPendingWrite();
      }
      return;
    }
    if (busy_) return;  // being answered, however long it takes
    if (partial_) {
      if (now - partial_since_ > options_.header_timeout) {
        BeginRefusalLocked();
        lock.unlock();
        handler_->Refuse(FrameError{408, "Request Timeout",
                                    "The request did not arrive in time"},
                         host_, MakeReply());
      }
      return;
    }
    if (now - last_activity_ > options_.idle_timeout) ShutdownLocked(SHUT_RDWR);
  }

  // Stops every later write (the endpoint is going away).
  void MarkClosed() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }

 private:
  friend class Reply;

  Reply MakeReply() { return Reply(shared_from_this()); }

  void BeginRefusalLocked() {
    discard_input_ = true;
    busy_ = true;
    close_after_ = true;
    partial_ = false;
    minor_version_ = 1;
    buffer_.clear();
  }

  // Reply::Send, with mu_ held: whether the response may be written, and
  // the request's HTTP minor version and the response's Connection header
  // ("" for none).
  bool BeforeSendLocked(int* minor_version, std::string_view* connection) {
    if (closed_ || shut_ || !busy_ || write_pending_) return false;
    *minor_version = minor_version_;
    if (close_after_) {
      *connection = "close";
    } else if (minor_version_ == 0) {
      *connection = "keep-alive";
    } else {
      *connection = "";  // HTTP/1.1 keep-alive: the default says it
    }
    write_pending_ = true;
    sent_at_ = Clock::now();
    return true;
  }

  // With mu_ held, after BeforeSendLocked: writes as much of `bytes` as
  // the socket takes now, without blocking; how many bytes went, or -1 when
  // the socket failed or is gone (the client left, or we shut it down). Under
  // mu_ the descriptor is still this connection's: Pistache closes it only
  // after OnDisconnected, which waits for mu_. Nothing else writes to it
  // meanwhile: one answer is outstanding at a time, and a kick is an empty
  // write.
  ssize_t SendNowLocked(const std::string& bytes) {
    if (closed_ || shut_) return -1;
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      } else {
        return -1;
      }
    }
    return static_cast<ssize_t>(done);
  }

  // Queues the response bytes (any thread, without mu_).
  Pistache::Async::Promise<ssize_t> Write(std::string bytes) {
    const size_t size = bytes.size();
    return transport_->asyncWrite(fd_,
                                  Pistache::RawBuffer(std::move(bytes), size));
  }

  // The outstanding response has reached the socket.
  void Written() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      write_pending_ = false;
      kicks_ = 0;
      busy_ = false;
      partial_ = false;  // the next request's clock starts now
      last_activity_ = Clock::now();
      if (close_after_) {
        CloseGracefullyLocked();
        return;
      }
    }
    Dispatch();
  }

  void WriteFailed() {
    std::lock_guard<std::mutex> lock(mu_);
    write_pending_ = false;
    ShutdownLocked(SHUT_RDWR);
  }

  // A Reply was dropped unsent: nothing will answer this request, so the
  // connection cannot carry another one in order.
  void Abandoned() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!write_pending_) ShutdownLocked(SHUT_RDWR);
  }

  void CloseAfter() {
    std::lock_guard<std::mutex> lock(mu_);
    close_after_ = true;
  }

  bool Gone() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_ || shut_;
  }

  // Ends our side (FIN after what is queued) and drops further input until
  // the client closes too, or `linger` passes.
  void CloseGracefullyLocked() {
    ShutdownLocked(SHUT_WR);
    lingering_ = true;
    discard_input_ = true;
    linger_since_ = Clock::now();
  }

  // Shuts the socket down; Pistache then sees end-of-file and removes the
  // peer (calling onDisconnection first), which closes the descriptor.
  // Never after OnDisconnected: the descriptor may belong to a new peer.
  void ShutdownLocked(int how) {
    if (!closed_ && !shut_) ::shutdown(fd_, how);
    if (how == SHUT_RDWR) shut_ = true;
  }

  GuardedHandler* const handler_;
  Pistache::Tcp::Transport* const transport_;
  const int fd_;
  const std::string host_;
  const GuardOptions& options_;

  std::mutex mu_;
  std::string buffer_;          // received, not yet served
  bool busy_ = false;           // a request is being answered
  bool write_pending_ = false;  // its response is on its way to the socket
  bool close_after_ = false;
  bool partial_ = false;        // the buffer starts a request not complete yet
  bool lingering_ = false;      // our side is closed; waiting for the client's
  bool discard_input_ = false;  // input from now on is read and dropped
  bool overflow_ = false;       // input past the bound was dropped
  bool shut_ = false;           // shut down both ways by us
  bool closed_ = false;  // Pistache removed the peer (or the endpoint stops)
  int minor_version_ = 1;
  Clock::time_point last_activity_;
  Clock::time_point partial_since_;
  Clock::time_point sent_at_;
  Clock::time_point linger_since_;
  Clock::time_point last_kick_;
  int kicks_ = 0;  // kicks queued since the pending answer was sent
};

// --- Reply ---

Reply::Reply(std::shared_ptr<Connection> connection)
    : connection_(std::move(connection)) {}

Reply::Reply(Reply&& other) noexcept
    : headers_(std::move(other.headers_)),
      connection_(std::move(other.connection_)),
      sent_(other.sent_) {
  other.sent_ = true;
}

Reply::~Reply() {
  if (!sent_ && connection_) connection_->Abandoned();
}

void Reply::CloseAfter() { connection_->CloseAfter(); }

void Reply::SetHeader(std::string name, std::string value) {
  headers_.emplace_back(std::move(name), std::move(value));
}

bool Reply::Send(int status, const std::string& body) {
  if (sent_) return false;
  sent_ = true;
  std::shared_ptr<Connection> c = connection_;
  int minor_version = 1;
  std::string_view connection_header;
  {
    std::lock_guard<std::mutex> lock(c->mu_);
    if (!c->BeforeSendLocked(&minor_version, &connection_header)) {
      return false;
    }
  }
  std::string bytes = SerializeResponse(minor_version, status, headers_,
                                        connection_header, body);
  // Written at once when the socket takes it all (a client that reads
  // always leaves room for one answer): Pistache's write queue would copy
  // the bytes twice more and wake a transport thread for every answer.
  ssize_t sent;
  {
    std::lock_guard<std::mutex> lock(c->mu_);
    sent = c->SendNowLocked(bytes);
  }
  if (sent < 0) {
    c->WriteFailed();
    return true;
  }
  if (static_cast<size_t>(sent) == bytes.size()) {
    c->Written();
    return true;
  }
  // The rest is queued without the connection's lock (the transport
  // resolves the write under its promise's lock and Written takes ours).
  // Should the client disconnect meanwhile, the answer counts as pending,
  // so its descriptor number is held until the stale write has been
  // dropped.
  if (sent > 0) bytes.erase(0, static_cast<size_t>(sent));
  auto promise = c->Write(std::move(bytes));
  promise.then([c](ssize_t) { c->Written(); },
               [c](std::exception_ptr) { c->WriteFailed(); });
  return true;
}

bool Reply::ClientGone() const { return connection_->Gone(); }

std::function<bool()> Reply::GoneCheck() const {
  std::weak_ptr<Connection> weak = connection_;
  return [weak] {
    auto c = weak.lock();
    return !c || c->Gone();
  };
}

// --- ConnectionRegistry ---

ConnectionRegistry::ConnectionRegistry(GuardOptions options)
    : options_(options) {
  AllocateHoldFlags();
}

ConnectionRegistry::~ConnectionRegistry() { Stop(); }

void ConnectionRegistry::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void ConnectionRegistry::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::shared_ptr<Connection>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, weak] : conns_) {
      if (auto c = weak.lock()) all.push_back(std::move(c));
    }
  }
  for (auto& c : all) c->MarkClosed();
}

size_t ConnectionRegistry::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return conns_.size();
}

void ConnectionRegistry::Add(const std::shared_ptr<Connection>& c) {
  std::lock_guard<std::mutex> lock(mu_);
  conns_[c.get()] = c;
  if (options_.open_connections) options_.open_connections->Increment();
}

void ConnectionRegistry::Remove(const Connection* c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conns_.erase(c) > 0 && options_.open_connections) {
    options_.open_connections->Decrement();
  }
}

void ConnectionRegistry::Run() {
  std::vector<std::shared_ptr<Connection>> batch;
  uint64_t backoffs_reported = AcceptBackoffs();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, options_.tick, [this] { return stopping_; });
    if (stopping_) break;
    if (options_.accept_backoffs) {
      uint64_t now_total = AcceptBackoffs();
      if (now_total > backoffs_reported) {
        options_.accept_backoffs->Increment(
            static_cast<double>(now_total - backoffs_reported));
        backoffs_reported = now_total;
      }
    }
    batch.clear();
    batch.reserve(conns_.size());
    for (auto& [key, weak] : conns_) {
      if (auto c = weak.lock()) batch.push_back(std::move(c));
    }
    lock.unlock();
    auto now = Clock::now();
    for (auto& c : batch) c->Tick(now);
    ReleaseQuarantined(now);
    batch.clear();  // drop the references outside the lock
    lock.lock();
  }
}

// --- GuardedHandler ---

GuardedHandler::GuardedHandler(std::shared_ptr<ConnectionRegistry> registry)
    : registry_(std::move(registry)) {}

void GuardedHandler::onConnection(
    const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  // What Pistache's own onConnection does: its idle check reads this
  // parser. Its timers are set too long to ever fire (see StartEndpoint);
  // the guard's replace them.
  peer->putData(ParserData, std::make_shared<Pistache::Http::RequestParser>(
                                getMaxRequestSize()));
  auto conn = std::make_shared<Connection>(this, transport(), peer->fd(),
                                           peer->address().host(),
                                           registry_->options());
  peer->putData(kConnectionData, conn);
  registry_->Add(conn);
}

void GuardedHandler::onDisconnection(
    const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  auto conn =
      std::static_pointer_cast<Connection>(peer->tryGetData(kConnectionData));
  if (conn) {
    conn->OnDisconnected();
    registry_->Remove(conn.get());
  }
}

void GuardedHandler::onInput(const char* buffer, size_t len,
                             const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  auto conn =
      std::static_pointer_cast<Connection>(peer->tryGetData(kConnectionData));
  if (conn) conn->OnInput(buffer, len);
}

void GuardedHandler::onRequest(const Pistache::Http::Request&,
                               Pistache::Http::ResponseWriter) {}

uint64_t AcceptBackoffs() { return accept_backoffs.load(); }

}  // namespace qs::http

// The definitions below call the next ones (libc's, or a sanitizer's
// interceptor), found once before main; a call before that (a library's
// constructor) goes straight to the system call.
namespace {
using CloseFn = int (*)(int);
using Accept4Fn = int (*)(int, struct sockaddr*, socklen_t*, int);
std::atomic<CloseFn> next_close{nullptr};
std::atomic<Accept4Fn> next_accept4{nullptr};
__attribute__((constructor)) void FindNextDefinitions() {
  next_close.store(reinterpret_cast<CloseFn>(dlsym(RTLD_NEXT, "close")));
  next_accept4.store(reinterpret_cast<Accept4Fn>(dlsym(RTLD_NEXT, "accept4")));
}
}  // namespace

// Pistache's accept loop polls its listening socket level-triggered and
// calls accept4 again at once when it fails, so with the process out of
// descriptors it spins a core. This definition takes precedence over libc's
// for the whole process (the executable is searched first); on a shortage
// it pauses the accepting thread briefly before reporting the error, so the
// loop retries a few times a second, the connections already open keep
// being served, and pending ones are accepted once descriptors are free.
// Pistache closes a peer's descriptor with close(); this definition takes
// precedence over libc's for the whole process (as accept4's below), and
// holds the numbers the connection guard asked for (see QuarantineOnClose).
// Every other close is libc's, unchanged.
extern "C" QS_NO_SANITIZE int close(int fd) {
  if (qs::http::HoldInsteadOfClosing(fd)) return 0;
  // The next definition (libc's, or a sanitizer's interceptor that tracks
  // descriptors), not the bare system call.
  CloseFn next = next_close.load(std::memory_order_relaxed);
  return next != nullptr ? next(fd) : static_cast<int>(syscall(SYS_close, fd));
}

extern "C" int accept4(int fd, struct sockaddr* addr, socklen_t* len,
                       int flags) {
  Accept4Fn next = next_accept4.load(std::memory_order_relaxed);
  long r = next != nullptr ? next(fd, addr, len, flags)
                           : syscall(SYS_accept4, fd, addr, len, flags);
  if (r < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM)) {
    int saved = errno;
    qs::http::accept_backoffs.fetch_add(1, std::memory_order_relaxed);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    errno = saved;
  }
  return static_cast<int>(r);
}
