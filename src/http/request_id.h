#pragma once

#include <string>

namespace qs::http {

// A new request id: 22 characters of [A-Za-z0-9_-] holding 128 random bits
// (a per-thread generator seeded from the kernel), so ids are unique across
// instances without coordination.
std::string NewRequestId();

}  // namespace qs::http
