// Percent-encoding for the query string of GET /query/status (RFC 3986 and
// the application/x-www-form-urlencoded convention that browsers and curl's
// --data-urlencode use for '+').
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace qs::api {

// Decodes every %XX escape (hex digits of either case) and, when
// `plus_as_space`, every '+' into ' '. Returns nullopt when a '%' is not
// followed by two hex digits. Decoded bytes are not validated (a %00 yields a
// NUL byte, %FF a lone byte); the consumer decides what it accepts.
std::optional<std::string> PercentDecode(std::string_view in,
                                         bool plus_as_space);

// Encodes every byte but the RFC 3986 unreserved characters
// (A-Z a-z 0-9 - . _ ~) as %XX with upper-case hex digits. The result is safe
// in a query value, a path segment or a header.
std::string PercentEncode(std::string_view in);

// Finds parameter `name` in `raw_query` (the part after '?', without it;
// pairs separated by '&'). Names are compared after percent-decoding them
// ('+' as space), so "j%73on" matches "json"; a name with a malformed escape
// matches nothing. Returns the value of the first occurrence still encoded
// ("" for "json=" or a bare "json"), or nullopt when the parameter is absent.
// `*duplicated` (may be null) is set to whether the name occurs more than once.
std::optional<std::string> FindQueryParam(std::string_view raw_query,
                                          std::string_view name,
                                          bool* duplicated);

}  // namespace qs::api
