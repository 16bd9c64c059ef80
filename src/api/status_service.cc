#include "api/status_service.h"

#include <strings.h>

#include "api/pagination.h"
#include "api/request_parser.h"
#include "api/status_json.h"
#include "api/url_codec.h"

namespace qs::api {
namespace {

constexpr char kLimitedDetail[] =
    "Hourly request limit exceeded, retry after the window resets";

RateInfo ToRateInfo(const ratelimit::RateDecision& d) {
  return {d.limit, d.remaining, d.reset_seconds};
}

// The token of an "Authorization: Bearer <token>" header (scheme
// case-insensitive, RFC 7235), or nullopt for any other scheme.
std::optional<std::string> BearerToken(const std::string& header) {
  constexpr char kScheme[] = "bearer";
  constexpr size_t kLen = sizeof(kScheme) - 1;
  if (header.size() < kLen || strncasecmp(header.c_str(), kScheme, kLen) != 0) {
    return std::nullopt;
  }
  size_t i = kLen;
  if (i < header.size() && header[i] != ' ') return std::nullopt;
  while (i < header.size() && header[i] == ' ') ++i;
  size_t end = header.size();
  while (end > i && (header[end - 1] == ' ' || header[end - 1] == '\t')) --end;
  return header.substr(i, end - i);
}

}  // namespace

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

StatusReply StatusService::RefuseBeforeKey(const StatusCall& call, Error error,
                                           bool credential_given) {
  StatusReply reply;
  reply.credential_given = credential_given;
  auto decision = limiter_.Check("address", "a:" + call.client_address,
                                 options_.unauth_rate_limit);
  if (!decision.ok()) {
    reply.error = decision.error();
    return reply;
  }
  reply.rate = ToRateInfo(decision.value());
  reply.error = decision.value().allowed
                    ? std::move(error)
                    : Error::ResourceExhausted(kLimitedDetail);
  return reply;
}

StatusReply StatusService::Handle(const StatusCall& call) {
  // 1. The json parameter.
  if (!call.json_param) {
    return RefuseBeforeKey(
        call, Error::InvalidArgument("The json query parameter is required"),
        false);
  }
  auto decoded = PercentDecode(*call.json_param, /*plus_as_space=*/true);
  if (!decoded) {
    return RefuseBeforeKey(
        call,
        Error::InvalidArgument("The json query parameter is not correctly percent-encoded"),
        false);
  }
  auto parsed = ParseStatusRequest(*decoded);
  if (!parsed.ok()) return RefuseBeforeKey(call, parsed.error(), false);
  const StatusRequest& request = parsed.value();

  // 2. The credential: the Authorization header, else api_key.
  std::optional<std::string> token;
  if (call.authorization) {
    token = BearerToken(*call.authorization);
    if (!token) {
      metrics_.AuthFailure("missing").Increment();
      return RefuseBeforeKey(
          call,
          Error::Unauthenticated("The Authorization header must use the Bearer scheme"),
          false);
    }
    if (request.api_key && *request.api_key != *token) {
      metrics_.AuthFailure("mismatch").Increment();
      return RefuseBeforeKey(
          call,
          Error::InvalidArgument(
              "The Authorization header and the api key field name different keys"),
          true);
    }
  } else if (request.api_key) {
    token = request.api_key;
  } else {
    metrics_.AuthFailure("missing").Increment();
    return RefuseBeforeKey(
        call,
        Error::Unauthenticated(
            "Authentication required, send a Bearer token or an api key"),
        false);
  }
  auto principal = authenticator_.Authenticate(*token);
  if (!principal.ok()) {
    if (principal.error().code != ErrorCode::kUnauthenticated) {
      return StatusReply{principal.error(), std::nullopt, true, {}, 0, 0};
    }
    return RefuseBeforeKey(call, principal.error(), true);
  }
  const auth::Principal& who = principal.value();

  // 3. The key's hourly limit.
  StatusReply reply;
  reply.credential_given = true;
  reply.license_id = who.license_id;
  auto decision =
      limiter_.Check("key", "k:" + std::to_string(who.key_id), who.rate_limit);
  if (!decision.ok()) {
    reply.error = decision.error();
    return reply;
  }
  reply.rate = ToRateInfo(decision.value());
  if (!decision.value().allowed) {
    reply.error = Error::ResourceExhausted(kLimitedDetail);
    return reply;
  }

  // 4. The status and the page.
  RowRange range = EffectiveRange(request);
  auto snapshot = queries_.ReadStatus(
      {who.license_id, request.schedule_id, range.first, range.last});
  if (!snapshot.ok()) {
    reply.error = snapshot.error();
    if (reply.error->code != ErrorCode::kNotFound) reply.rate.reset();
    return reply;
  }
  const store::StatusSnapshot& s = *snapshot.value();
  PageLinks links;
  if (s.status == QueryStatusCode::kSuccess) {
    links = BuildPageLinks(request, s.total_rows, options_.public_base_url);
  }
  StatusView view{call.request_id,  request.schedule_id, s.status,
                  s.queries_ready,  s.queries_total,     s.tasks_scheduled,
                  s.tasks_running,  s.total_rows,        s.rows_json,
                  &links};
  reply.body.reserve(256 + s.rows_json.size());
  RenderStatusBody(view, &reply.body);
  reply.rows = s.rows_returned;
  metrics_.response_rows().Increment(static_cast<double>(s.rows_returned));
  return reply;
}

}  // namespace qs::api
