#include "ratelimit/redis_window_counter.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <exception>
#include <future>
#include <unordered_map>
#include <utility>

#include "log/log.h"
#include "ratelimit/embedded/count_window_lua.h"
#include "ratelimit/redis_reply.h"

namespace qs::ratelimit {
namespace {

using std::chrono::milliseconds;

// The count script (src/ratelimit/count_window.lua, embedded at build time):
// adds a count to a window's key, atomically in Redis, which is what makes
// the limit exact across instances.
constexpr std::string_view kCountScript = embedded::kCountWindowLua;
constexpr int64_t kExpiryGraceSeconds = 60;
constexpr char kKeyPrefix[] = "qs:rl:";

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

Result<RedisOptions> RedisWindowCounter::ParseRedisUrl(std::string_view url) {
  Result<config::RedisUrl> parsed = config::ParseRedisUrl(url);
  if (!parsed.ok()) return parsed.error();
  return FromUrl(parsed.value());
}

RedisOptions RedisWindowCounter::FromUrl(const config::RedisUrl& url) {
  RedisOptions o;
  o.url = url.url;
  o.cluster = url.cluster;
  if (url.cluster) o.seeds = url.nodes;
  if (!url.nodes.empty()) {
    o.host = url.nodes.front().host;
    o.port = url.nodes.front().port;
  }
  o.user = url.user;
  o.password = url.password;
  o.db = url.db;
  return o;
}

RedisWindowCounter::RedisWindowCounter(RedisOptions options,
                                       metrics::Metrics& metrics)
    : options_(std::move(options)),
      incr_duration_(
          metrics.RedisDuration(metrics::RedisOperation::kIncrWindow)),
      incr_errors_(metrics.RedisErrors(metrics::RedisOperation::kIncrWindow)),
      ping_duration_(metrics.RedisDuration(metrics::RedisOperation::kPing)),
      ping_errors_(metrics.RedisErrors(metrics::RedisOperation::kPing)),
      queue_depth_(metrics.redis_queue_depth()),
      rejected_full_(
          metrics.RedisQueueRejections(metrics::QueueRejection::kFull)),
      rejected_expired_(
          metrics.RedisQueueRejections(metrics::QueueRejection::kExpired)),
      rejected_stopped_(
          metrics.RedisQueueRejections(metrics::QueueRejection::kStopped)),
      count_calls_(metrics.redis_count_calls()),
      counted_requests_(metrics.redis_counted_requests()) {
  if (options_.host.empty()) {
    Result<RedisOptions> parsed = ParseRedisUrl(options_.url);
    if (parsed.ok()) {
      RedisOptions p = std::move(parsed).value();
      p.connect_timeout = options_.connect_timeout;
      p.command_timeout = options_.command_timeout;
      p.max_queued = options_.max_queued;
      options_ = std::move(p);
    } else {
      config_error_ = parsed.error().internal;
    }
  }
  options_.max_queued = std::max<size_t>(options_.max_queued, 1);
  if (options_.command_timeout < milliseconds(1)) {
    options_.command_timeout = milliseconds(1);
  }
  if (options_.cluster && options_.seeds.empty()) {
    options_.seeds.push_back({options_.host, options_.port});
  }
  settings_.user = options_.user;
  settings_.password = options_.password;
  settings_.db = options_.cluster ? 0 : options_.db;
  settings_.connect_timeout = options_.connect_timeout;
  settings_.command_timeout = options_.command_timeout;
  settings_.script = kCountScript;
  io_thread_ = std::thread([this] { RunIoThread(); });
}

RedisWindowCounter::~RedisWindowCounter() {
  // Whatever the callbacks would answer into may be destroyed already (its
  // owner was declared after this counter): discard, do not call.
  discard_.store(true);
  Stop();
}

void RedisWindowCounter::Stop() {
  {
    std::lock_guard<std::mutex> lock(batch_mu_);
    stopping_ = true;
  }
  batch_cv_.notify_one();
  std::lock_guard<std::mutex> join_lock(join_mu_);
  if (io_thread_.joinable()) io_thread_.join();
}

std::string RedisWindowCounter::WindowKey(bool cluster,
                                          const std::string& bucket,
                                          int64_t window_start_unix) {
  std::string key = kKeyPrefix;
  if (cluster) key += '{';
  key += bucket;
  if (cluster) key += '}';
  key += ':';
  key += std::to_string(window_start_unix);
  return key;
}

void RedisWindowCounter::TakeExpiredLocked(SteadyTime now,
                                           std::vector<Pending>* expired) {
  while (!queue_.empty() &&
         now - queue_.front().queued >= options_.command_timeout) {
    expired->push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
}

void RedisWindowCounter::IncrementAsync(const std::string& bucket,
                                        int64_t window_start_unix,
                                        int64_t window_seconds,
                                        CountCallback done) {
  Enqueue(bucket, window_start_unix, window_seconds, 1, std::move(done));
}

void RedisWindowCounter::ReadAsync(const std::string& bucket,
                                   int64_t window_start_unix,
                                   int64_t window_seconds, CountCallback done) {
  Enqueue(bucket, window_start_unix, window_seconds, 0, std::move(done));
}

void RedisWindowCounter::Enqueue(const std::string& bucket,
                                 int64_t window_start_unix,
                                 int64_t window_seconds, int64_t count,
                                 CountCallback done) {
  if (!config_error_.empty()) {
    incr_errors_.Increment();
    done(Error::Unavailable(config_error_));
    return;
  }
  Pending p;
  p.key = WindowKey(options_.cluster, bucket, window_start_unix);
  p.expire_at =
      std::to_string(window_start_unix + window_seconds + kExpiryGraceSeconds);
  p.count = count;
  p.done = std::move(done);
  Enqueue(std::move(p));
}

void RedisWindowCounter::Enqueue(Pending p) {
  const auto now = std::chrono::steady_clock::now();
  p.queued = now;
  std::vector<Pending> answer_now;
  const char* refused = nullptr;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(batch_mu_);
    if (stopping_) {
      refused = "stopped";
    } else {
      // The I/O thread may be stuck in a read on a stalled Redis: counts it
      // has not taken by their deadline are decided here, by a thread that
      // is not.
      TakeExpiredLocked(now, &answer_now);
      if (queue_.size() >= options_.max_queued) {
        refused = "full";
      } else {
        queue_.push_back(std::move(p));
        wake = io_waiting_;
      }
    }
    queue_depth_.Set(static_cast<double>(queue_.size()));
  }
  // Under load the I/O thread is busy and finds the queue on its own: no
  // wake-up (and no system call) per request.
  if (wake) batch_cv_.notify_one();

  for (Pending& e : answer_now) {
    rejected_expired_.Increment();
    e.result = Error::Unavailable(
        "redis: the count waited in the queue past the Redis timeout");
  }
  if (refused != nullptr) {
    (std::string_view(refused) == "full" ? rejected_full_ : rejected_stopped_)
        .Increment();
    p.result = Error::Unavailable(
        std::string("redis: count refused, queue ") +
        (std::string_view(refused) == "full" ? "full" : "stopped"));
    answer_now.push_back(std::move(p));
  }
  Answer(answer_now);
}

void RedisWindowCounter::Answer(std::vector<Pending>& answered) {
  const auto now = std::chrono::steady_clock::now();
  for (Pending& p : answered) {
    if (!p.result) p.result = Error::Internal("redis batch: no answer");
    if (!p.probe) {  // Ping records its own
      incr_duration_.Observe(
          std::chrono::duration<double>(now - p.queued).count());
      if (!p.result->ok()) incr_errors_.Increment();
    }
    if (discard_.load(std::memory_order_relaxed)) continue;
    try {
      p.done(std::move(*p.result));
    } catch (...) {
      // A callback's failure is its own; the others still get answers.
    }
  }
}

void RedisWindowCounter::RunIoThread() {
  std::vector<Pending> batch;
  std::vector<Pending> expired;
  std::unique_lock<std::mutex> lock(batch_mu_);
  for (;;) {
    io_waiting_ = true;
    batch_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    io_waiting_ = false;
    if (stopping_) {
      // Whatever is still queued is answered, not sent: shutdown must not
      // wait on Redis for counts nobody may read.
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.end()));
      queue_.clear();
      queue_depth_.Set(0);
      lock.unlock();
      for (Pending& p : batch) {
        rejected_stopped_.Increment();
        p.result = Error::Unavailable("redis: the counter is stopping");
      }
      Answer(batch);
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    TakeExpiredLocked(now, &expired);
    const size_t take = std::min(queue_.size(), kMaxBatchRequests);
    batch.assign(std::make_move_iterator(queue_.begin()),
                 std::make_move_iterator(queue_.begin() + take));
    queue_.erase(queue_.begin(), queue_.begin() + take);
    queue_depth_.Set(static_cast<double>(queue_.size()));
    lock.unlock();

    for (Pending& p : expired) {
      rejected_expired_.Increment();
      p.result = Error::Unavailable(
          "redis: the count waited in the queue past the Redis timeout");
    }
    Answer(expired);
    expired.clear();
    if (!batch.empty()) {
      // The oldest count's deadline bounds the whole batch's I/O: no count
      // waits longer than the Redis timeout in all, whatever Redis does.
      const SteadyTime deadline =
          batch.front().queued + options_.command_timeout;
      try {
        RunBatch(batch, deadline);
      } catch (const std::exception& e) {
        for (Pending& p : batch) {
          if (!p.result)
            p.result = Error::Internal(std::string("redis batch: ") + e.what());
        }
      }
      Answer(batch);
      batch.clear();
    }
    lock.lock();
  }
}

void RedisWindowCounter::RunBatch(std::vector<Pending>& batch,
                                  SteadyTime deadline) {
  // Requests of one bucket and window become one group, in arrival order;
  // readiness probes wait for the counts' I/O.
  std::vector<Group> groups;
  std::vector<size_t> probes;
  {
    std::unordered_map<std::string_view, size_t> index;
    index.reserve(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].probe) {
        probes.push_back(i);
        continue;
      }
      auto [it, inserted] = index.emplace(batch[i].key, groups.size());
      if (inserted) {
        Group g;
        g.key = &batch[i].key;
        g.expire_at = &batch[i].expire_at;
        g.count = 0;
        if (options_.cluster) g.slot = KeySlot(batch[i].key);
        groups.push_back(std::move(g));
      }
      groups[it->second].count += batch[i].count;
      groups[it->second].members.push_back(i);
    }
  }
  auto fail = [&](const std::vector<size_t>& ids, const Error& e) {
    for (size_t id : ids) {
      for (size_t m : groups[id].members) batch[m].result = e;
    }
  };

  std::vector<size_t> todo(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) todo[i] = i;
  for (int round = 0; round < kMaxRounds && !todo.empty(); ++round) {
    std::vector<size_t> again;
    if (!options_.cluster) {
      RedisConnection& conn = NodeConn({options_.host, options_.port});
      if (Status s = conn.Ensure(deadline); !s.ok()) {
        fail(todo, s.error());
        todo.clear();
        break;
      }
      SendPipeline(conn, groups, todo, batch, &again);
      todo.swap(again);
      continue;
    }
    if (slot_map_stale_) RefreshSlotMap(deadline);
    // The calls of this round by node, each node's in arrival order.
    std::vector<std::pair<NodeAddress, std::vector<size_t>>> by_node;
    for (size_t id : todo) {
      Group& g = groups[id];
      const NodeAddress* node =
          g.target ? &*g.target : slot_map_.MasterOf(g.slot);
      if (node == nullptr) {
        slot_map_stale_ = true;
        fail({id}, Error::Unavailable("redis cluster: no master serves slot " +
                                      std::to_string(g.slot)));
        continue;
      }
      auto it = std::find_if(by_node.begin(), by_node.end(),
                             [&](const auto& e) { return e.first == *node; });
      if (it == by_node.end()) {
        by_node.push_back({*node, {}});
        it = by_node.end() - 1;
      }
      it->second.push_back(id);
    }
    // Every master's pipeline is written before any reply is read: one
    // round trip for the batch, not one per master.
    std::vector<std::pair<RedisConnection*, const std::vector<size_t>*>> sent;
    for (auto& [node, ids] : by_node) {
      RedisConnection& conn = NodeConn(node);
      if (Status s = conn.Ensure(deadline); !s.ok()) {
        // A master that cannot be reached may have failed over: the map
        // is read again before the next batch.
        slot_map_stale_ = true;
        fail(ids, s.error());
        continue;
      }
      if (QueuePipeline(conn, groups, ids, batch)) {
        sent.push_back({&conn, &ids});
      }
    }
    for (auto [conn, ids] : sent) {
      ReadPipeline(*conn, groups, *ids, batch, &again);
    }
    todo.swap(again);
  }
  fail(todo, Error::Unavailable("redis: still redirected after " +
                                std::to_string(kMaxRounds) + " sends"));

  if (!probes.empty()) {
    // After the counts, on the same connections: readiness tells whether
    // the connections that serve counts work now, not whether some other
    // connection could be made.
    Status s = ProbeServing(deadline);
    for (size_t i : probes) {
      batch[i].result =
          s.ok() ? Result<int64_t>(int64_t{0}) : Result<int64_t>(s.error());
    }
  }
}

void RedisWindowCounter::SendPipeline(RedisConnection& conn,
                                      std::vector<Group>& groups,
                                      const std::vector<size_t>& ids,
                                      std::vector<Pending>& batch,
                                      std::vector<size_t>* again) {
  if (QueuePipeline(conn, groups, ids, batch)) {
    ReadPipeline(conn, groups, ids, batch, again);
  }
}

bool RedisWindowCounter::QueuePipeline(RedisConnection& conn,
                                       std::vector<Group>& groups,
                                       const std::vector<size_t>& ids,
                                       std::vector<Pending>& batch) {
  auto fail_all = [&](const std::string& what) {
    if (options_.cluster) slot_map_stale_ = true;
    const Error e = Error::Unavailable("redis EVALSHA " +
                                       conn.address().ToString() + ": " + what);
    for (size_t id : ids) {
      for (size_t m : groups[id].members) batch[m].result = e;
    }
    return false;
  };
  std::string n;
  for (size_t id : ids) {
    const Group& g = groups[id];
    if (g.asking) {
      const char* argv[] = {"ASKING"};
      size_t lens[] = {6};
      if (!conn.Append(1, argv, lens)) return fail_all(conn.error());
    }
    // hiredis copies the arguments into its output buffer at once.
    n = std::to_string(g.count);
    const std::string& sha = conn.script_sha();
    const char* argv[] = {"EVALSHA",      sha.c_str(),          "1",
                          g.key->c_str(), g.expire_at->c_str(), n.c_str()};
    size_t lens[] = {7,       sha.size(), 1, g.key->size(), g.expire_at->size(),
                     n.size()};
    if (!conn.Append(6, argv, lens)) return fail_all(conn.error());
  }
  count_calls_.Increment(static_cast<double>(ids.size()));
  // Written out now, so that in a cluster every master works on its
  // pipeline while the replies of the first are read.
  if (!conn.Flush()) return fail_all(conn.error());
  return true;
}

void RedisWindowCounter::ReadPipeline(RedisConnection& conn,
                                      std::vector<Group>& groups,
                                      const std::vector<size_t>& ids,
                                      std::vector<Pending>& batch,
                                      std::vector<size_t>* again) {
  auto fail = [&](size_t id, const Error& e) {
    for (size_t m : groups[id].members) batch[m].result = e;
  };
  auto fail_from = [&](size_t k, const Error& e) {
    for (; k < ids.size(); ++k) fail(ids[k], e);
  };
  // In arrival order, each request sees the total as its own count (1, or
  // 0 for a read) left it.
  auto hand_out = [&](const Group& g, int64_t total) {
    int64_t running = total - g.count;
    for (size_t m : g.members) {
      running += batch[m].count;
      batch[m].result = running;
    }
  };
  // A connection that failed mid-pipeline (it is closed by now): what was
  // not read is lost, and in a cluster the node may have failed over.
  auto lost = [&](size_t k) {
    if (options_.cluster) slot_map_stale_ = true;
    fail_from(k,
              Error::Unavailable("redis EVALSHA " + conn.address().ToString() +
                                 ": " + conn.error()));
  };

  bool drop_after = false;
  bool reload = false;
  for (size_t k = 0; k < ids.size(); ++k) {
    Group& g = groups[ids[k]];
    if (g.asking) {
      // ASKING's own +OK; any error would show again in the call's reply.
      if (!conn.Read()) return lost(k);
      g.asking = false;
    }
    RedisReplyPtr r = conn.Read();
    if (!r) return lost(k);
    ClassifiedReply c = ClassifyReply(*r);
    g.target.reset();
    const Error error = Error::Unavailable(
        "redis EVALSHA " + conn.address().ToString() + ": " +
        (c.text.empty() ? std::string("unexpected reply type") : c.text));
    switch (c.kind) {
      case ReplyKind::kInteger:
        counted_requests_.Increment(static_cast<double>(g.count));
        hand_out(g, c.integer);
        break;
      case ReplyKind::kNoScript:
        // The script cache was flushed (SCRIPT FLUSH, a restart, a
        // failover): loaded again below, then this call is sent again.
        reload = true;
        again->push_back(ids[k]);
        break;
      case ReplyKind::kMoved:
        if (!options_.cluster) {
          fail(ids[k], error);
          break;
        }
        // The slot has moved for good: point it there now, and read the
        // whole map again before the next batch (more slots may have).
        slot_map_.Assign(c.slot, {c.host, c.port});
        slot_map_stale_ = true;
        g.target = NodeAddress{c.host, c.port};
        again->push_back(ids[k]);
        break;
      case ReplyKind::kAsk:
        if (!options_.cluster) {
          fail(ids[k], error);
          break;
        }
        // The slot is being migrated and this key is already there: ask
        // that node this once; the map does not change.
        g.target = NodeAddress{c.host, c.port};
        g.asking = true;
        again->push_back(ids[k]);
        break;
      case ReplyKind::kReadOnly:
        // A demoted master (or a replica) stays read-only: reconnecting,
        // after the map is read again, reaches the new master.
        drop_after = true;
        if (options_.cluster) slot_map_stale_ = true;
        fail(ids[k], error);
        break;
      case ReplyKind::kTryAgain:
        if (options_.cluster) slot_map_stale_ = true;
        fail(ids[k], error);
        break;
      case ReplyKind::kError:
        // Other error replies leave the connection usable.
        fail(ids[k], error);
        break;
      case ReplyKind::kString:
      case ReplyKind::kUnexpected:
        // Out of step with the protocol: no later reply can be trusted.
        conn.Drop();
        fail(ids[k], error);
        return fail_from(k + 1, error);
    }
  }
  if (drop_after) {
    conn.Drop();
  } else if (reload) {
    // On failure the connection is dropped; the resend reconnects (which
    // loads the script) or fails.
    (void)conn.LoadScript();
  }
}

RedisConnection& RedisWindowCounter::NodeConn(const NodeAddress& node) {
  std::unique_ptr<RedisConnection>& conn = nodes_[node.ToString()];
  if (!conn) {
    conn = std::make_unique<RedisConnection>(node, &settings_,
                                             /*backs_off=*/true);
  }
  return *conn;
}

void RedisWindowCounter::RefreshSlotMap(SteadyTime deadline) {
  const auto now = std::chrono::steady_clock::now();
  if (now < slot_map_retry_after_) return;
  std::vector<NodeAddress> candidates = slot_map_.masters();
  for (const NodeAddress& seed : options_.seeds) {
    if (std::find(candidates.begin(), candidates.end(), seed) ==
        candidates.end()) {
      candidates.push_back(seed);
    }
  }
  std::string last_error = "no node answered";
  for (const NodeAddress& node : candidates) {
    if (std::chrono::steady_clock::now() >= deadline) break;
    RedisConnection& conn = NodeConn(node);
    if (Status s = conn.Ensure(deadline); !s.ok()) {
      last_error = s.error().internal;
      continue;
    }
    RedisReplyPtr r = conn.Command({"CLUSTER", "SLOTS"});
    if (!r) {
      last_error = node.ToString() + ": " + conn.error();
      continue;
    }
    Result<SlotMap> map = ParseClusterSlots(*r, node);
    if (!map.ok()) {
      last_error = node.ToString() + ": " + map.error().internal;
      continue;
    }
    if (map.value().empty()) {
      last_error = node.ToString() + ": no slot is served";
      continue;
    }
    // Logged when the map changes (a failover, a reshard), not at every
    // read: a master that is down makes the map be read every few
    // milliseconds until its replica takes over.
    const bool changed = !map.value().SameAs(slot_map_);
    slot_map_ = std::move(map).value();
    slot_map_stale_ = false;
    slot_map_failures_ = 0;
    // A map marked stale again at once (a master still down, not yet
    // failed over) is not read again in a loop.
    slot_map_retry_after_ =
        std::chrono::steady_clock::now() + RedisConnection::kMinBackoff;
    if (changed) {
      log::Event(log::Level::kInfo, "redis_slot_map",
                 {{"masters", std::to_string(slot_map_.masters().size())},
                  {"from", node.ToString()}});
    }
    return;
  }
  ++slot_map_failures_;
  // The same backoff as a connection's: 25 ms doubling to 1 s.
  auto wait = RedisConnection::kMinBackoff *
              (1 << std::min(slot_map_failures_ - 1, 10));
  slot_map_retry_after_ =
      std::chrono::steady_clock::now() +
      std::min<std::chrono::milliseconds>(wait, RedisConnection::kMaxBackoff);
  if (slot_map_failures_ == 1) {
    log::Event(log::Level::kWarn, "redis_slot_map_unavailable",
               {{"error", last_error}});
  }
}

Status RedisWindowCounter::ProbeServing(SteadyTime deadline) {
  auto ping = [&](RedisConnection& conn) -> Status {
    if (Status s = conn.Ensure(deadline); !s.ok()) return s;
    RedisReplyPtr r = conn.Command({"PING"});
    if (!r) {
      return Error::Unavailable("redis PING " + conn.address().ToString() +
                                ": " + conn.error());
    }
    ClassifiedReply c = ClassifyReply(*r);
    if (c.kind == ReplyKind::kString) return Status::Ok();
    if (c.kind == ReplyKind::kUnexpected) conn.Drop();
    return Error::Unavailable(
        "redis PING " + conn.address().ToString() + ": " +
        (c.text.empty() ? std::string("unexpected reply") : c.text));
  };
  if (!options_.cluster) return ping(NodeConn({options_.host, options_.port}));
  if (slot_map_stale_) RefreshSlotMap(deadline);
  // Every master that serves a slot, each once: a count for any key may
  // need any of them.
  std::vector<const NodeAddress*> masters;
  for (int slot = 0; slot < kClusterSlots; ++slot) {
    const NodeAddress* m = slot_map_.MasterOf(slot);
    if (m == nullptr) {
      slot_map_stale_ = true;
      return Error::Unavailable("redis cluster: no master serves slot " +
                                std::to_string(slot));
    }
    if (std::find_if(masters.begin(), masters.end(), [&](const auto* x) {
          return *x == *m;
        }) == masters.end()) {
      masters.push_back(m);
    }
  }
  for (const NodeAddress* m : masters) {
    if (Status s = ping(NodeConn(*m)); !s.ok()) {
      slot_map_stale_ = true;
      return s;
    }
  }
  return Status::Ok();
}

Status RedisWindowCounter::Ping() {
  const auto start = std::chrono::steady_clock::now();
  auto answer = std::make_shared<std::promise<Result<int64_t>>>();
  std::future<Result<int64_t>> future = answer->get_future();
  Status status = Error::Unavailable("redis PING: no answer in time");
  if (!config_error_.empty()) {
    status = Error::Unavailable(config_error_);
  } else {
    Pending p;
    p.probe = true;
    p.done = [answer](Result<int64_t> r) { answer->set_value(std::move(r)); };
    Enqueue(std::move(p));
    // The probe is answered within the Redis timeout (by the batch's
    // deadline, or as expired in the queue); the margin covers the hand-off
    // between threads.
    if (future.wait_for(options_.command_timeout + kProbeMargin) ==
        std::future_status::ready) {
      Result<int64_t> r = future.get();
      status = r.ok() ? Status::Ok() : Status(r.error());
    }
  }
  ping_duration_.Observe(SecondsSince(start));
  if (!status.ok()) ping_errors_.Increment();
  return status;
}

}  // namespace qs::ratelimit
