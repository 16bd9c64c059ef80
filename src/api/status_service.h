#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "auth/authenticator.h"
#include "common/status.h"
#include "metrics/metrics.h"
#include "ratelimit/hourly_limiter.h"
#include "store/query_store.h"

namespace qs::api {

struct StatusServiceOptions {
  int32_t unauth_rate_limit = 1000;
  std::string public_base_url;  // empty: path-absolute paginate links
};

// One GET /query/status, as plain data taken off the HTTP request.
struct StatusCall {
  std::optional<std::string> json_param;  // raw (still percent-encoded)
  std::optional<std::string> authorization;  // the Authorization header
  std::string client_address;  // resolved through trusted proxies
  std::string request_id;
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
  std::string body;  // the 200 body (application/json)
  int64_t license_id = 0;
  int64_t rows = 0;
};

// The endpoint's logic. Order of work, cheapest refusal first: the `json`
// parameter is validated (no I/O), then the credential is checked (cached),
// then the key's hourly limit is counted (one Redis call), then the status is
// read (one PostgreSQL round trip). Refusals before a key is known (400 and
// 401) are counted against the client address instead. Thread-safe.
class StatusService {
 public:
  StatusService(auth::Authenticator& authenticator,
                ratelimit::HourlyLimiter& limiter, store::QueryStore& queries,
                metrics::Metrics& metrics, StatusServiceOptions options);

  StatusReply Handle(const StatusCall& call);

 private:
  // Counts a refusal that happened before a key was known against the
  // client address; 429 replaces it once the address is over its limit.
  StatusReply RefuseBeforeKey(const StatusCall& call, Error error,
                              bool credential_given);

  auth::Authenticator& authenticator_;
  ratelimit::HourlyLimiter& limiter_;
  store::QueryStore& queries_;
  metrics::Metrics& metrics_;
  StatusServiceOptions options_;
};

}  // namespace qs::api
