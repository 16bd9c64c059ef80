#include "api/status_service.h"

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

RateInfo ToRateInfo(const ratelimit::RateDecision& d) {
  return {d.limit, d.remaining, d.reset_seconds};
}

}  // namespace

// One request on its way through the steps.
struct StatusService::Flow {
  StatusCall call;
  StatusRequest request;
  Executor* blocking;
  ReplyCallback done;
};

StatusService::StatusService(auth::Authenticator& authenticator,
                             ratelimit::HourlyLimiter& limiter,
                             store::QueryStore& queries,
                             metrics::Metrics& metrics,
                             StatusServiceOptions options)
    : authenticator_(authenticator),
      limiter_(limiter),
      queries_(queries),
      metrics_(metrics),
      options_(std::move(options)) {}

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
  auto flow = std::make_shared<Flow>(
      Flow{std::move(call), StatusRequest{}, &blocking, std::move(done)});
  const StatusCall& c = flow->call;

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
  if (RefusedAddressFromMemory(flow)) return;
  bool queued = flow->blocking->TrySubmit(FlowTask(flow, [this, flow, token] {
    // The budget may have run out while the task waited for a worker.
    if (RefusedAddressFromMemory(flow)) return;
    Authenticated(flow, authenticator_.Authenticate(token));
  }));
  if (!queued) {
    flow->done(StatusReply{
        Error::Unavailable("worker queue full"), std::nullopt, true, {}, 0, 0});
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
      flow->done(StatusReply{principal.error(), std::nullopt, true, {}, 0, 0});
      return;
    }
    return RefuseBeforeKey(flow, principal.error(), true);
  }
  // 5. The key's hourly limit; the rest continues when Redis answers.
  auth::Principal who = principal.value();
  limiter_.CheckAsync(kKeyScope, "k:" + std::to_string(who.key_id),
                      who.rate_limit,
                      [this, flow, who](Result<ratelimit::RateDecision> d) {
                        Counted(flow, who, std::move(d));
                      });
}

void StatusService::Counted(std::shared_ptr<Flow> flow,
                            const auth::Principal& who,
                            Result<ratelimit::RateDecision> decision) {
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

  // 6. The status and the page: from memory when cached and small enough to
  // render here; otherwise on a blocking thread.
  RowRange range = EffectiveRange(flow->request);
  store::StatusLookup lookup{who.license_id, flow->request.schedule_id,
                             range.first, range.last};
  constexpr size_t kRenderInlineBytes = 64 * 1024;
  // A large cached page is still rendered on a worker (copying it here would
  // hold up every other request waiting on the Redis pipeline), from the
  // snapshot already found rather than by a second lookup.
  store::SnapshotPtr big_cached;
  if (auto cached = queries_.TryReadCached(lookup)) {
    if (!cached->ok() ||
        cached->value()->rows_json.size() <= kRenderInlineBytes) {
      return Respond(flow, std::move(reply), *cached);
    }
    big_cached = cached->value();
  }
  auto shared_reply = std::make_shared<StatusReply>(std::move(reply));
  bool queued = flow->blocking->TrySubmit(
      FlowTask(flow, [this, flow, shared_reply, lookup, big_cached] {
        Respond(flow, std::move(*shared_reply),
                big_cached ? Result<store::SnapshotPtr>(big_cached)
                           : queries_.ReadStatus(lookup));
      }));
  if (!queued) {
    shared_reply->error = Error::Unavailable("worker queue full");
    shared_reply->rate.reset();
    flow->done(std::move(*shared_reply));
  }
}

void StatusService::Respond(std::shared_ptr<Flow> flow, StatusReply reply,
                            const Result<store::SnapshotPtr>& snapshot) {
  if (!snapshot.ok()) {
    reply.error = snapshot.error();
    if (reply.error->code != ErrorCode::kNotFound) reply.rate.reset();
    return flow->done(std::move(reply));
  }
  const store::StatusSnapshot& s = *snapshot.value();
  PageLinks links;
  if (s.status == QueryStatusCode::kSuccess) {
    links =
        BuildPageLinks(flow->request, s.total_rows, options_.public_base_url);
  }
  StatusView view{flow->call.request_id,
                  flow->request.schedule_id,
                  s.status,
                  s.queries_ready,
                  s.queries_total,
                  s.tasks_scheduled,
                  s.tasks_running,
                  s.total_rows,
                  s.rows_json,
                  &links};
  reply.body.reserve(512 + s.rows_json.size());
  RenderStatusBody(view, &reply.body);
  reply.rows = s.rows_returned;
  metrics_.response_rows().Increment(static_cast<double>(s.rows_returned));
  flow->done(std::move(reply));
}

}  // namespace qs::api
