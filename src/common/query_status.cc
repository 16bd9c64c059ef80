#include "common/query_status.h"

#include <array>
#include <utility>

namespace qs {
namespace {
constexpr std::array<std::pair<QueryStatusCode, std::string_view>, 6> kNames{{
    {QueryStatusCode::kScheduled, "SCHEDULED"},
    {QueryStatusCode::kQueued, "QUEUED"},
    {QueryStatusCode::kRunning, "RUNNING"},
    {QueryStatusCode::kSuccess, "SUCCESS"},
    {QueryStatusCode::kFailure, "FAILURE"},
    {QueryStatusCode::kStopped, "STOPPED"},
}};
}  // namespace

std::string_view QueryStatusName(QueryStatusCode code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "FAILURE";
}

std::optional<QueryStatusCode> ParseQueryStatus(std::string_view name) {
  for (const auto& [c, n] : kNames) {
    if (n == name) return c;
  }
  return std::nullopt;
}

bool IsFinished(QueryStatusCode code) {
  return code == QueryStatusCode::kSuccess ||
         code == QueryStatusCode::kFailure || code == QueryStatusCode::kStopped;
}

}  // namespace qs
