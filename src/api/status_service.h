#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/pagination.h"
#include "api/status_json.h"
#include "api/wait_room.h"
#include "auth/authenticator.h"
#include "common/content_coding.h"
#include "common/executor.h"
#include "common/status.h"
#include "metrics/metrics.h"
#include "ratelimit/hourly_limiter.h"
#include "store/query_store.h"

namespace qs::api {

struct StatusServiceOptions {
  int32_t unauth_rate_limit = 1000;
  std::string public_base_url;  // empty: path-absolute paginate links
  // The longest `Prefer: wait` allowed (--max-wait-seconds).
  int max_wait_seconds = 50;
};

// One GET /query/status, as plain data taken off the HTTP request.
struct StatusCall {
  std::optional<std::string> json_param;     // raw (still percent-encoded)
  std::optional<std::string> authorization;  // the Authorization header
  // The If-None-Match field value (several fields joined with ", "), or
  // nullopt when the request has none.
  std::optional<std::string> if_none_match;
  // The Prefer field value (several fields joined with ", "), or nullopt.
  std::optional<std::string> prefer;
  // The Accept-Encoding field value (several fields joined with ", "), or
  // nullopt when the request has none.
  std::optional<std::string> accept_encoding;
  std::string client_address;  // resolved through trusted proxies
  std::string request_id;
  // When the edge gives up on the request (its deadline); work not started
  // by then is dropped rather than run.
  std::chrono::steady_clock::time_point deadline =
      std::chrono::steady_clock::time_point::max();
  // True once the client has gone (its connection closed): pending work for
  // it is dropped. Null: the client is never known to be gone. Called from
  // any thread; must be cheap and must not block.
  std::function<bool()> client_gone;
};

// The rate-limit state to report in headers.
struct RateInfo {
  int32_t limit = 0;
  int32_t remaining = 0;
  int64_t reset_seconds = 0;
};

// The outcome, still free of HTTP: an error (mapped to a status code at the
// HTTP edge) or a rendered 200 body.
struct StatusReply {
  std::optional<Error> error;
  // Present on every outcome but the internal and unavailable ones.
  std::optional<RateInfo> rate;
  // For a 401: whether a credential was presented (then it was not valid).
  bool credential_given = false;
  std::string body;  // the 200 body (application/json), in `coding`
  // The body's content coding (api/body_coding.h): not identity only for a
  // 200 the client accepted it for; then it is the Content-Encoding.
  Encoding coding = Encoding::kIdentity;
  int64_t license_id = 0;
  int64_t rows = 0;
  // On a 200 and a 304: the representation's weak validator, as the ETag
  // field value (RenderStatusEtag).
  std::string etag;
  // The request's If-None-Match matched the current representation: answer
  // 304 Not Modified, with no body. The budget was read, not spent.
  bool not_modified = false;
  // The request was held (Prefer: wait): the wait allowed, in seconds, for
  // Preference-Applied. 0: it was not held.
  int wait_applied = 0;
  // The work was dropped because the client had gone: the answer (an
  // error) reaches nobody, and the edge records it as such (499, nginx's
  // "client closed request") rather than as a failure of the service.
  bool client_gone = false;
};

// The endpoint's logic. Order of work, cheapest refusal first:
//  1. the `json` parameter is validated (no I/O);
//  2. the credential is taken from the request, and one that does not have
//     the shape of an issued token (auth::IsIssuedToken) is refused as 401
//     without a lookup;
//  3. the key caches answer (a known key, or a token known to be unknown);
//  4. otherwise, an address already over its pre-auth budget in this window
//     (the limiter remembers it) gets 429 without a key lookup; else the key
//     is looked up in PostgreSQL on a worker (which checks the address again
//     first: the budget may have run out while the task waited);
//  5. the key's hourly limit is counted (one Redis call, or none for a key
//     already over it);
//  6. the status is read (memory, or one PostgreSQL round trip on a worker).
// A conditional request (If-None-Match naming a tag or `*`) swaps 5 and 6:
// the status is read first, and when its ETag matches, the answer is 304
// and the budget is only read (a 304 is free); a spent budget is 429 as
// always. Otherwise it is counted and answered from what was read.
// Refusals before a key is known (400 and 401) are counted against the
// client address instead, and become 429 once the address is over its limit.
//
// HandleAsync never blocks its caller: the Redis count answers on the
// counter's pipeline thread, and only the steps that may wait on PostgreSQL
// (a key not in the key caches, a status not in the status cache) go to the
// `blocking` executor, as tasks that carry the call's deadline and
// client_gone check: a task that a worker picks up too late, or for a client
// that has gone, is answered kUnavailable without running. A poll that is
// fully cached therefore costs no thread hand-off beyond the Redis
// pipeline's. Thread-safe.
//
// Held requests (`Prefer: wait=N` with a matching If-None-Match): once the
// tag matches and the budget is not spent, the request is parked in the
// WaitRoom instead of being answered 304. Woken by a change it goes through
// the conditional steps again (one read per group of requests for the same
// page): a new tag is counted and answered 200 (or 429 if the budget is
// spent by then), the same tag is held again for the rest of its wait. The
// end of its wait, the drain and a feed that goes down answer it at once:
// 304, or 200 if the tag has changed after all. `wait=0` is no wait.
class StatusService final : public WakeSink {
 public:
  using ReplyCallback = std::function<void(StatusReply)>;

  StatusService(auth::Authenticator& authenticator,
                ratelimit::HourlyLimiter& limiter, store::QueryStore& queries,
                metrics::Metrics& metrics, StatusServiceOptions options,
                WaitRoom* waits = nullptr);

  // Answers through `done`, exactly once, on whichever thread finishes: the
  // caller's own (possibly before HandleAsync returns, e.g. a 400 or a
  // remembered 429), the Redis counter's I/O thread, or a `blocking` worker.
  // `done` must not block.
  void HandleAsync(StatusCall call, Executor& blocking, ReplyCallback done);

  // WakeSink: the requests the wait room lets go.
  void Wake(std::vector<std::shared_ptr<HeldRequest>> woken, WakeReason why,
            std::chrono::steady_clock::time_point noticed) override;

 private:
  struct Flow;
  // Counts a refusal that happened before a key was known against the
  // client address; 429 replaces it once the address is over its limit.
  void RefuseBeforeKey(std::shared_ptr<Flow> flow, Error error,
                       bool credential_given);
  void Authenticated(std::shared_ptr<Flow> flow, Result<auth::Principal> who);
  // The 429 of an address already over its pre-auth budget, if it is.
  bool RefusedAddressFromMemory(const std::shared_ptr<Flow>& flow);
  // A task for `blocking` carrying the call's deadline and client_gone;
  // dropped, it answers kUnavailable through the flow.
  static Task FlowTask(const std::shared_ptr<Flow>& flow,
                       std::function<void()> run);
  static std::string KeyBucket(const auth::Principal& who);
  static store::StatusLookup LookupFor(const Flow& flow,
                                       const auth::Principal& who);
  // Reads the status (cached, or on a worker) and goes on with StatusRead;
  // `counted` is passed on.
  void ReadStatus(std::shared_ptr<Flow> flow, const auth::Principal& who,
                  bool counted);
  // ReadStatus for requests of one lookup (each with its `who` set): one
  // read answers them all.
  void ReadForAll(std::vector<std::shared_ptr<Flow>> flows, bool counted);
  // `counted`: the request is already counted (flow->reply holds the rate);
  // otherwise it is a conditional request to decide.
  void StatusRead(std::shared_ptr<Flow> flow, const auth::Principal& who,
                  bool counted, Result<store::SnapshotPtr> snapshot);
  // `read`: the status, when it was read before counting.
  void Counted(std::shared_ptr<Flow> flow, const auth::Principal& who,
               Result<ratelimit::RateDecision> decision,
               std::optional<Result<store::SnapshotPtr>> read);
  PageLinks LinksFor(const Flow& flow, const store::StatusSnapshot& s) const;
  static StatusView ViewFor(const Flow& flow, const store::StatusSnapshot& s,
                            const PageLinks& links);
  // The snapshot's ETag, rendered on first use and kept with it.
  const std::string& EtagOf(const Flow& flow,
                            const store::StatusSnapshot& s) const;
  void Respond(std::shared_ptr<Flow> flow, StatusReply reply,
               const Result<store::SnapshotPtr>& snapshot);
  // The tag matched: 304 (the budget read, not spent), 429 if it is spent,
  // or, when the request may wait, held.
  void NotModified(std::shared_ptr<Flow> flow, const auth::Principal& who,
                   std::string etag);
  // Parks the request in the wait room; false when it was not taken (then
  // the caller answers it).
  bool TryHold(const std::shared_ptr<Flow>& flow, const auth::Principal& who);

  auth::Authenticator& authenticator_;
  ratelimit::HourlyLimiter& limiter_;
  store::QueryStore& queries_;
  metrics::Metrics& metrics_;
  StatusServiceOptions options_;
  WaitRoom* waits_;
};

}  // namespace qs::api
