#pragma once

#include <string>

#include "common/status.h"

namespace qs::http {

struct HttpError {
  int status;
  const char* title;  // matches ^[A-Za-z0-9\s]+$
  const char* type;   // URI reference of the problem type
};

// The one place where error codes become HTTP statuses.
// Must change when a code is added to qs::ErrorCode.
HttpError MapError(ErrorCode code);

// RFC 9457 problem details for `error` (application/problem+json). Only the
// error's client-safe detail is used; kInternal and kUnavailable get a fixed
// detail so no internal text can leak.
std::string ProblemBody(const Error& error, const std::string& request_id);

// Problem details for refusals made by the HTTP edge itself (405, 404 for an
// unknown path, 503 when overloaded).
std::string EdgeProblemBody(int status, const char* title, const char* detail,
                            const std::string& request_id);

}  // namespace qs::http
