// The `meta.paginate` links of a SUCCESS response.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/status_request.h"

namespace qs::api {

struct PageLinks {
  std::optional<std::string> prev;  // nullopt renders as JSON null
  std::optional<std::string> next;
};

// Links to the pages before and after EffectiveRange(request), of the same
// size S. prev exists when the page does not start at row 0 and covers
// max(0, first - S) .. first - 1. next exists when rows remain after the page
// (last + 1 < total_rows) and the next page can start within kMaxOffset; it
// covers last + 1 .. min(last + S, kMaxOffset).
//
// A link is `public_base_url` (any trailing '/' dropped; "" gives a
// path-absolute link) + "/query/status?json=" + the percent-encoded
// {"schedule_id":..,"offset_start":N,"offset_end":M}, keys in that order, no
// spaces. It never carries the caller's api_key: links get logged, shared
// and cached.
PageLinks BuildPageLinks(const StatusRequest& request, int64_t total_rows,
                         std::string_view public_base_url);

}  // namespace qs::api
