// Parsing of the `json` query parameter of GET /query/status into a typed,
// validated StatusRequest (the contract's "Request" table).
#pragma once

#include <cstddef>
#include <string_view>

#include "api/status_request.h"
#include "common/status.h"

namespace qs::api {

// The longest schedule id: 1 to this many identifier characters
// (ascii::IsIdentifier).
inline constexpr size_t kMaxScheduleIdLength = 50;

// Longer decoded `json` values are rejected before parsing.
inline constexpr size_t kMaxJsonParamBytes = 4096;

// Parses the already percent-decoded value of the `json` parameter.
//
// Accepts exactly one JSON object (surrounding whitespace allowed) whose keys
// are among schedule_id (required), api_key, offset_start and offset_end, each
// at most once. Keys are compared after JSON unescaping, so "sch\u0065dule_id"
// is schedule_id (and a second spelling of it is a duplicate); comparisons are
// length-aware, so a key with an embedded NUL is simply unknown.
// Offsets must be written as JSON integer literals: "5", 5.0, 5e0, true and
// null are rejected, while -0 is the integer 0 and accepted. Strings must be
// valid UTF-8.
//
// Every failure is Error::InvalidArgument with a detail that satisfies
// IsValidDetail and never echoes the input. Never throws; runs in time and
// stack space bounded by kMaxJsonParamBytes whatever the nesting.
Result<StatusRequest> ParseStatusRequest(std::string_view decoded_json);

// Whether `detail` may be sent as a problem-details `detail`: 1 to 1000
// characters matching ^[A-Za-z0-9\s.,\-]+$.
bool IsValidDetail(std::string_view detail);

}  // namespace qs::api
