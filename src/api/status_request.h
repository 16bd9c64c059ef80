#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace qs::api {

// The `json` query parameter of GET /query/status, validated. Every field
// satisfies the contract's rules once a StatusRequest exists.
struct StatusRequest {
  std::string schedule_id;             // 1..50 chars of [A-Za-z0-9_-]
  std::optional<std::string> api_key;  // 1..255 chars of [A-Za-z0-9_-]
  int64_t offset_start = 0;            // 0..1000000
  std::optional<int64_t> offset_end;   // 0..1000000, >= offset_start, inclusive
};

// At most this many rows in one page (the API reference's page limit, also
// `maxItems` of `data` in openapi/openapi.yaml).
inline constexpr int64_t kMaxPageRows = 10000;
inline constexpr int64_t kMaxOffset = 1000000;

// The inclusive row range a request asks for, capped at kMaxPageRows rows.
struct RowRange {
  int64_t first;
  int64_t last;  // inclusive; last - first + 1 <= kMaxPageRows
  int64_t size() const { return last - first + 1; }
};

inline RowRange EffectiveRange(const StatusRequest& r) {
  int64_t last = r.offset_start + kMaxPageRows - 1;
  if (r.offset_end && *r.offset_end < last) last = *r.offset_end;
  return {r.offset_start, last};
}

}  // namespace qs::api
