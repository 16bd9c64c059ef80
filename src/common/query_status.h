#pragma once

#include <optional>
#include <string_view>

namespace qs {

// The lifecycle of an asynchronous query, as the contract names it.
enum class QueryStatusCode {
  kScheduled,
  kQueued,
  kRunning,
  kSuccess,
  kFailure,
  kStopped
};

std::string_view QueryStatusName(QueryStatusCode code);
// Exact, case-sensitive match of the contract's names ("RUNNING", ...).
std::optional<QueryStatusCode> ParseQueryStatus(std::string_view name);
// SUCCESS, FAILURE and STOPPED are final: such a query expires after its
// license's retention period.
bool IsFinished(QueryStatusCode code);

}  // namespace qs
