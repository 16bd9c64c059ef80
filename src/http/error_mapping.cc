#include "http/error_mapping.h"

#include "api/status_json.h"

namespace qs::http {

HttpError MapError(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return {400, "Bad Request", "/problems/invalid-request"};
    case ErrorCode::kUnauthenticated:
      return {401, "Unauthorized", "/problems/unauthorized"};
    case ErrorCode::kNotFound:
      return {404, "Not Found", "/problems/not-found"};
    case ErrorCode::kResourceExhausted:
      return {429, "Too Many Requests", "/problems/rate-limited"};
    // A dependency that does not answer is reported as 500, as the contract
    // says; no internals reach the client.
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
      return {500, "Internal Server Error", "/problems/internal"};
  }
  return {500, "Internal Server Error", "/problems/internal"};
}

namespace {
std::string Instance(const std::string& request_id) {
  return "/query/status#request-" + request_id;
}
}  // namespace

std::string ProblemBody(const Error& error, const std::string& request_id) {
  HttpError h = MapError(error.code);
  std::string detail = error.detail;
  if (h.status == 500)
    detail = "The request could not be completed, try again later";
  return api::RenderProblemBody(
      {h.status, h.type, h.title, detail, Instance(request_id)});
}

std::string EdgeProblemBody(int status, const char* title, const char* detail,
                            const std::string& request_id) {
  return api::RenderProblemBody(
      {status, "/problems/http", title, detail, Instance(request_id)});
}

}  // namespace qs::http
