#include "api/status_service.h"

#include <unordered_map>

#include "api/body_coding.h"
#include "api/conditional.h"
#include "api/pagination.h"
#include "api/request_parser.h"
#include "api/status_json.h"
#include "api/url_codec.h"
#include "auth/bearer.h"
#include "auth/token.h"

namespace qs::api {
namespace {

constexpr char kLimitedDetail[] =
    "Hourly request limit exceeded, retry after the window resets";

constexpr metrics::RateScope kAddressScope = metrics::RateScope::kAddress;
constexpr metrics::RateScope kKeyScope = metrics::RateScope::kKey;

// An error answer after a credential was presented, with no rate headers.
StatusReply ErrorReply(Error error) {
  StatusReply reply;
  reply.error = std::move(error);
  reply.credential_given = true;
  return reply;
}

// Whether an answer from `snapshot` in `coding` is rendered on the thread
// that has it. One that copies many bytes goes to a worker: copying them on
// the Redis I/O thread would hold up every other request waiting on the
// pipeline. What an answer copies is the page's rows, or, in a coding whose
// compressed tail the snapshot already keeps, that tail (a 10,000-row page
// of 617 KB is 66 KB in zstd): a cached page served compressed costs no
// hand-off to a worker.
bool RenderHere(const Result<store::SnapshotPtr>& snapshot, Encoding coding) {
  constexpr size_t kRenderInlineBytes = 128 * 1024;
  if (!snapshot.ok()) return true;
  const store::StatusSnapshot& s = *snapshot.value();
  if (s.rows_json.size() <= kRenderInlineBytes) return true;
  const Memo<std::optional<CompressedTail>>* kept =
      coding == Encoding::kGzip   ? &s.gzip_tail
      : coding == Encoding::kZstd ? &s.zstd_tail
                                  : nullptr;
  const std::optional<CompressedTail>* tail =
      kept != nullptr ? kept->IfReady() : nullptr;
  return tail != nullptr && tail->has_value() &&
         (*tail)->bytes.size() <= kRenderInlineBytes;
}

RateInfo ToRateInfo(const ratelimit::RateDecision& d) {
  return {d.limit, d.remaining, d.reset_seconds};
}

}  // namespace

// One request on its way through the steps; while it is held, the wait
// room keeps it as a HeldRequest.
struct StatusService::Flow : HeldRequest {
  StatusCall call;
  StatusRequest request;
  Executor* blocking;
  ReplyCallback done;
  // The coding the answer will be in, if it is a large enough 200.
  Encoding coding = Encoding::kIdentity;
  // If-None-Match, parsed; `conditional` when it names a tag or `*`.
  IfNoneMatch condition;
  bool conditional = false;
  // The reply under way once the request is counted (rate headers set).
  StatusReply reply;

  // --- Prefer: wait ---
  // The wait allowed (1..max_wait_seconds); 0: the request does not wait.
  int wait_seconds = 0;
  // False once a wait has ended other than by a change: answer now.
  bool may_hold = true;
  // Preference-Applied's value: wait_seconds once the request was held.
  int applied = 0;
  bool done_wrapped = false;
  // Who is calling: set when the status is read (ReadStatus), and kept
  // for the answer after a wake.
  auth::Principal who;
  // What was left of the call's deadline when it was parked: a woken
  // request gets as long again for its answer.
  std::chrono::steady_clock::duration budget{};
  // Woken by a change noticed at `noticed`: its 200 is observed in the
  // wake latency.
  bool observe_wake = false;
  std::chrono::steady_clock::time_point noticed;
};

StatusService::StatusService(auth::Authenticator& authenticator,
                             ratelimit::HourlyLimiter& limiter,
                             store::QueryStore& queries,
                             metrics::Metrics& metrics,
                             StatusServiceOptions options, WaitRoom* waits)
    : authenticator_(authenticator),
      limiter_(limiter),
      queries_(queries),
      metrics_(metrics),
      options_(std::move(options)),
      waits_(waits) {}

void StatusService::RefuseBeforeKey(std::shared_ptr<Flow> flow, Error error,
                                    bool credential_given) {
  const std::string bucket = "a:" + flow->call.client_address;
  limiter_.CheckAsync(kAddressScope, bucket, options_.unauth_rate_limit,
                      [flow, error = std::move(error), credential_given](
                          Result<ratelimit::RateDecision> decision) mutable {
                        StatusReply reply;
                        reply.credential_given = credential_given;
                        if (!decision.ok()) {
                          reply.error = decision.error();
                        } else {
                          reply.rate = ToRateInfo(decision.value());
                          reply.error =
                              decision.value().allowed
                                  ? std::move(error)
                                  : Error::ResourceExhausted(kLimitedDetail);
                        }
                        flow->done(std::move(reply));
                      });
}

void StatusService::HandleAsync(StatusCall call, Executor& blocking,
                                ReplyCallback done) {
  auto flow = std::make_shared<Flow>();
  flow->call = std::move(call);
  flow->blocking = &blocking;
  flow->done = std::move(done);
  const StatusCall& c = flow->call;
  flow->coding = ChooseEncoding(c.accept_encoding);
  if (c.if_none_match) {
    flow->condition = ParseIfNoneMatch(*c.if_none_match);
    flow->conditional = flow->condition.any || !flow->condition.tags.empty();
  }
  // A wait is only for a conditional request, and wait=0 is none.
  if (flow->conditional && c.prefer && waits_ != nullptr) {
    std::optional<int64_t> wait = ParsePreferWait(*c.prefer);
    if (wait && *wait > 0) {
      flow->wait_seconds = ClampWaitSeconds(*wait, options_.max_wait_seconds);
    }
  }

  // 1. The json parameter.
  if (!c.json_param) {
    return RefuseBeforeKey(
        flow, Error::InvalidArgument("The json query parameter is required"),
        false);
  }
  auto decoded = PercentDecode(*c.json_param, /*plus_as_space=*/true);
  if (!decoded) {
    return RefuseBeforeKey(
        flow,
        Error::InvalidArgument(
            "The json query parameter is not correctly percent-encoded"),
        false);
  }
  auto parsed = ParseStatusRequest(*decoded);
  if (!parsed.ok()) return RefuseBeforeKey(flow, parsed.error(), false);
  flow->request = std::move(parsed).value();
  const StatusRequest& request = flow->request;

  // 2. The credential: the Authorization header, else api_key.
  std::string token;
  if (c.authorization) {
    auto bearer = auth::BearerToken(*c.authorization);
    if (!bearer) {
      metrics_.AuthFailure(metrics::AuthFailureReason::kMissing).Increment();
      return RefuseBeforeKey(
          flow,
          Error::Unauthenticated(
              "The Authorization header must use the Bearer scheme"),
          false);
    }
    if (request.api_key && *request.api_key != *bearer) {
      metrics_.AuthFailure(metrics::AuthFailureReason::kMismatch).Increment();
      return RefuseBeforeKey(
          flow,
          Error::InvalidArgument("The Authorization header and the api key "
                                 "field name different keys"),
          true);
    }
    token = std::move(*bearer);
  } else if (request.api_key) {
    token = *request.api_key;
  } else {
    metrics_.AuthFailure(metrics::AuthFailureReason::kMissing).Increment();
    return RefuseBeforeKey(
        flow,
        Error::Unauthenticated(
            "Authentication required, send a Bearer token or an api key"),
        false);
  }

  // 3. The credential's shape: what `key create` cannot have made needs no
  // lookup to be refused.
  if (!auth::IsIssuedToken(token)) {
    // The authenticator refuses it from its shape alone (no I/O), with the
    // one detail every invalid key gets, and counts the failure.
    return Authenticated(flow, *authenticator_.TryCached(token));
  }

  // 4. Who is calling: from the key caches, else from PostgreSQL on a
  // blocking thread, unless the address has already spent its pre-auth
  // budget (then no lookup at all: a flood of guessed tokens costs memory
  // look-ups only).
  if (auto cached = authenticator_.TryCached(token)) {
    return Authenticated(flow, std::move(*cached));
  }
  // A key this instance has served before (its cache entry has expired)
  // is looked up even so: a spent address must not lock a real key out.
  const bool seen = authenticator_.SeenKey(token);
  if (!seen && RefusedAddressFromMemory(flow)) return;
  bool queued =
      flow->blocking->TrySubmit(FlowTask(flow, [this, flow, token, seen] {
        // The budget may have run out while the task waited for a worker.
        if (!seen && RefusedAddressFromMemory(flow)) return;
        Authenticated(flow, authenticator_.Authenticate(token));
      }));
  if (!queued) {
    flow->done(ErrorReply(Error::Unavailable("worker queue full")));
  }
}

Task StatusService::FlowTask(const std::shared_ptr<Flow>& flow,
                             std::function<void()> run) {
  Task task;
  task.run = std::move(run);
  task.drop = [flow] {
    StatusReply reply;
    reply.error = Error::Unavailable(
        "request dropped before it ran: deadline passed or client gone");
    reply.credential_given = true;
    reply.client_gone = flow->call.client_gone && flow->call.client_gone();
    flow->done(std::move(reply));
  };
  task.deadline = flow->call.deadline;
  task.client_gone = flow->call.client_gone;
  return task;
}

bool StatusService::RefusedAddressFromMemory(
    const std::shared_ptr<Flow>& flow) {
  auto denied =
      limiter_.RememberedDenial(kAddressScope, "a:" + flow->call.client_address,
                                options_.unauth_rate_limit);
  if (!denied) return false;
  StatusReply reply;
  reply.credential_given = true;
  reply.rate = ToRateInfo(*denied);
  reply.error = Error::ResourceExhausted(kLimitedDetail);
  flow->done(std::move(reply));
  return true;
}

void StatusService::Authenticated(std::shared_ptr<Flow> flow,
                                  Result<auth::Principal> principal) {
  if (!principal.ok()) {
    if (principal.error().code != ErrorCode::kUnauthenticated) {
      flow->done(ErrorReply(principal.error()));
      return;
    }
    return RefuseBeforeKey(flow, principal.error(), true);
  }
  auth::Principal who = principal.value();
  // A conditional request reads the status first: a 304 is free against the
  // budget, so whether it is one decides how the request is counted.
  if (flow->conditional) return ReadStatus(flow, who, /*counted=*/false);
  // 5. The key's hourly limit; the rest continues when Redis answers.
  limiter_.CheckAsync(kKeyScope, KeyBucket(who), who.rate_limit,
                      [this, flow, who](Result<ratelimit::RateDecision> d) {
                        Counted(flow, who, std::move(d), std::nullopt);
                      });
}

std::string StatusService::KeyBucket(const auth::Principal& who) {
  return "k:" + std::to_string(who.key_id);
}

store::StatusLookup StatusService::LookupFor(const Flow& flow,
                                             const auth::Principal& who) {
  RowRange range = EffectiveRange(flow.request);
  return {who.license_id, flow.request.schedule_id, range.first, range.last};
}

void StatusService::ReadStatus(std::shared_ptr<Flow> flow,
                               const auth::Principal& who, bool counted) {
  flow->who = who;
  ReadForAll({std::move(flow)}, counted);
}

void StatusService::ReadForAll(std::vector<std::shared_ptr<Flow>> flows,
                               bool counted) {
  // 6. The status and the page: from memory when cached and small enough to
  // render here; otherwise on a blocking thread, once for all of `flows`
  // (they share one lookup). A large cached page is still rendered on a
  // worker, from the snapshot already found rather than by a second lookup.
  const std::shared_ptr<Flow>& first = flows.front();
  store::StatusLookup lookup = LookupFor(*first, first->who);
  store::SnapshotPtr big_cached;
  if (auto cached = queries_.TryReadCached(lookup)) {
    if (RenderHere(*cached, first->coding)) {
      for (auto& flow : flows) StatusRead(flow, flow->who, counted, *cached);
      return;
    }
    big_cached = cached->value();
  }
  auto group =
      std::make_shared<std::vector<std::shared_ptr<Flow>>>(std::move(flows));
  Task task;
  task.run = [this, group, counted, lookup, big_cached] {
    Result<store::SnapshotPtr> snapshot =
        big_cached ? Result<store::SnapshotPtr>(big_cached)
                   : queries_.ReadStatus(lookup);
    for (auto& flow : *group) StatusRead(flow, flow->who, counted, snapshot);
  };
  auto fail = [group](const char* why) {
    for (auto& flow : *group) {
      StatusReply reply = ErrorReply(Error::Unavailable(why));
      reply.license_id = flow->who.license_id;
      reply.client_gone = flow->call.client_gone && flow->call.client_gone();
      flow->done(std::move(reply));
    }
  };
  task.drop = [fail] {
    fail("request dropped before it ran: deadline passed or client gone");
  };
  // Dropped only when it is too late, or nobody is left, for all of them.
  task.deadline = first->call.deadline;
  for (auto& flow : *group) {
    task.deadline = std::max(task.deadline, flow->call.deadline);
  }
  task.client_gone = [group] {
    for (auto& flow : *group) {
      if (!flow->call.client_gone || !flow->call.client_gone()) return false;
    }
    return true;
  };
  if (!group->front()->blocking->TrySubmit(std::move(task))) {
    fail("worker queue full");
  }
}

void StatusService::StatusRead(std::shared_ptr<Flow> flow,
                               const auth::Principal& who, bool counted,
                               Result<store::SnapshotPtr> snapshot) {
  if (counted) return Respond(flow, std::move(flow->reply), snapshot);
  if (snapshot.ok()) {
    std::string etag = EtagOf(*flow, *snapshot.value());
    if (IfNoneMatchMatches(flow->condition, etag)) {
      return NotModified(flow, who, std::move(etag));
    }
  }
  // Modified, or an error to report (404 included): counted like any other
  // request, and answered from what was read.
  auto read = std::make_shared<Result<store::SnapshotPtr>>(std::move(snapshot));
  limiter_.CheckAsync(
      kKeyScope, KeyBucket(who), who.rate_limit,
      [this, flow, who, read](Result<ratelimit::RateDecision> d) {
        Counted(flow, who, std::move(d), std::move(*read));
      });
}

void StatusService::Counted(std::shared_ptr<Flow> flow,
                            const auth::Principal& who,
                            Result<ratelimit::RateDecision> decision,
                            std::optional<Result<store::SnapshotPtr>> read) {
  StatusReply reply;
  reply.credential_given = true;
  reply.license_id = who.license_id;
  if (!decision.ok()) {
    reply.error = decision.error();
    return flow->done(std::move(reply));
  }
  reply.rate = ToRateInfo(decision.value());
  if (!decision.value().allowed) {
    reply.error = Error::ResourceExhausted(kLimitedDetail);
    return flow->done(std::move(reply));
  }
  flow->reply = std::move(reply);
  if (!read) return ReadStatus(flow, who, /*counted=*/true);
  // Read before counting (a conditional request): rendered here, unless the
  // page is large enough to belong on a worker.
  if (!RenderHere(*read, flow->coding)) {
    auto snapshot = read->value();
    bool queued =
        flow->blocking->TrySubmit(FlowTask(flow, [this, flow, snapshot] {
          Respond(flow, std::move(flow->reply), snapshot);
        }));
    if (!queued) {
      flow->reply.error = Error::Unavailable("worker queue full");
      flow->reply.rate.reset();
      flow->done(std::move(flow->reply));
    }
    return;
  }
  Respond(flow, std::move(flow->reply), *read);
}

void StatusService::NotModified(std::shared_ptr<Flow> flow,
                                const auth::Principal& who, std::string etag) {
  // The budget is read, not spent; a spent one is a 429, held or not.
  limiter_.PeekAsync(
      kKeyScope, KeyBucket(who), who.rate_limit,
      [this, flow, who, etag](Result<ratelimit::RateDecision> d) mutable {
        StatusReply reply;
        reply.credential_given = true;
        reply.license_id = who.license_id;
        if (!d.ok()) {
          reply.error = d.error();
        } else {
          reply.rate = ToRateInfo(d.value());
          if (d.value().allowed) {
            if (TryHold(flow, who)) return;
            reply.not_modified = true;
            reply.etag = std::move(etag);
            metrics_.not_modified().Increment();
          } else {
            reply.error = Error::ResourceExhausted(kLimitedDetail);
          }
        }
        flow->done(std::move(reply));
      });
}

bool StatusService::TryHold(const std::shared_ptr<Flow>& flow,
                            const auth::Principal& who) {
  if (flow->wait_seconds <= 0 || !flow->may_hold) return false;
  const auto now = std::chrono::steady_clock::now();
  if (!flow->done_wrapped) {
    // First hold: what the wait room needs, and an answer that, whichever
    // thread gives it, says the wait was applied.
    flow->key = KeyBucket(who);
    flow->query_topic = "q:" + flow->request.schedule_id;
    flow->license_topic = "l:" + std::to_string(who.license_id);
    RowRange range = EffectiveRange(flow->request);
    flow->group = std::to_string(who.license_id) + ' ' +
                  std::to_string(range.first) + ' ' +
                  std::to_string(range.last) + ' ' +
                  std::string(EncodingName(flow->coding)) + ' ' +
                  flow->request.schedule_id;
    flow->until = now + std::chrono::seconds(flow->wait_seconds);
    flow->gone = flow->call.client_gone;
    Flow* f = flow.get();  // alive while its done runs: the caller holds it
    flow->done = [this, f, inner = std::move(flow->done)](StatusReply r) {
      r.wait_applied = f->applied;
      if (f->observe_wake && !r.error && !r.not_modified) {
        metrics_.wake_latency().Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                          f->noticed)
                .count());
      }
      inner(std::move(r));
    };
    flow->done_wrapped = true;
  }
  if (flow->call.deadline != std::chrono::steady_clock::time_point::max()) {
    flow->budget = std::max(flow->call.deadline - now,
                            std::chrono::steady_clock::duration::zero());
  }
  flow->observe_wake = false;
  // Set before the room has it: once held it may be answered at once, on
  // another thread.
  int applied_before = flow->applied;
  flow->applied = flow->wait_seconds;
  if (waits_->Hold(flow) == WaitRoom::Admission::kHeld) return true;
  // Not taken: answered now, and the wait was applied only if it was held
  // before.
  flow->applied = applied_before;
  return false;
}

void StatusService::Wake(std::vector<std::shared_ptr<HeldRequest>> woken,
                         WakeReason why,
                         std::chrono::steady_clock::time_point noticed) {
  const auto now = std::chrono::steady_clock::now();
  std::unordered_map<std::string, std::vector<std::shared_ptr<Flow>>> groups;
  for (auto& held : woken) {
    auto flow = std::static_pointer_cast<Flow>(std::move(held));
    if (why == WakeReason::kClientGone) {
      StatusReply reply =
          ErrorReply(Error::Unavailable("client gone while held"));
      reply.client_gone = true;
      reply.license_id = flow->who.license_id;
      flow->done(std::move(reply));
      continue;
    }
    if (flow->call.deadline != std::chrono::steady_clock::time_point::max()) {
      flow->call.deadline = now + flow->budget;
    }
    // Only a change may hold the request again (its tag may still match).
    flow->may_hold = why == WakeReason::kChange;
    flow->observe_wake = why == WakeReason::kChange;
    flow->noticed = noticed;
    groups[flow->group].push_back(std::move(flow));
  }
  // One read per page: a change wakes every request held for it at once,
  // and they must not each read it.
  for (auto& [group, flows] : groups) ReadForAll(std::move(flows), false);
}

PageLinks StatusService::LinksFor(const Flow& flow,
                                  const store::StatusSnapshot& s) const {
  if (s.status != QueryStatusCode::kSuccess) return {};
  return BuildPageLinks(flow.request, s.total_rows, options_.public_base_url);
}

StatusView StatusService::ViewFor(const Flow& flow,
                                  const store::StatusSnapshot& s,
                                  const PageLinks& links) {
  return StatusView{flow.call.request_id,
                    flow.request.schedule_id,
                    s.status,
                    s.queries_ready,
                    s.queries_total,
                    s.tasks_scheduled,
                    s.tasks_running,
                    s.total_rows,
                    s.rows_json,
                    &links};
}

const std::string& StatusService::EtagOf(const Flow& flow,
                                         const store::StatusSnapshot& s) const {
  return s.etag.Get([&] {
    PageLinks links = LinksFor(flow, s);
    return RenderStatusEtag(ViewFor(flow, s, links), s.rows_digest);
  });
}

void StatusService::Respond(std::shared_ptr<Flow> flow, StatusReply reply,
                            const Result<store::SnapshotPtr>& snapshot) {
  if (!snapshot.ok()) {
    reply.error = snapshot.error();
    if (reply.error->code != ErrorCode::kNotFound) reply.rate.reset();
    return flow->done(std::move(reply));
  }
  const store::StatusSnapshot& s = *snapshot.value();
  PageLinks links = LinksFor(*flow, s);
  StatusView view = ViewFor(*flow, s, links);
  CodedBody body = RenderCodedBody(view, s, flow->coding);
  metrics_.CountBody(body.coding, body.bytes.size(), body.identity_size,
                     body.compressed);
  reply.body = std::move(body.bytes);
  reply.coding = body.coding;
  reply.etag = EtagOf(*flow, s);
  reply.rows = s.rows_returned;
  metrics_.response_rows().Increment(static_cast<double>(s.rows_returned));
  flow->done(std::move(reply));
}

}  // namespace qs::api
