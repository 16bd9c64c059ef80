#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/cidr.h"

namespace qs::http {

// The address a request is counted against before its key is known. It is
// the peer address, unless the peer is a trusted proxy: then X-Forwarded-For
// is read from the right, skipping trusted proxies, and the first address not
// trusted is the client (the left-most one if all are trusted). Entries a
// client could have forged (left of the first untrusted one) are never used.
std::string ResolveClientAddress(
    const std::string& peer, const std::optional<std::string>& forwarded_for,
    const std::vector<Cidr>& trusted);

}  // namespace qs::http
