// The pieces of HTTP field syntax (RFC 9110 5.6) that the request framer and
// the header parsers (conditional requests, content codings) share. ASCII
// only: none of them looks at the locale.
#pragma once

#include <string_view>

#include "common/text.h"

namespace qs {

// OWS = *( SP / HTAB )
bool IsOws(char c);

// tchar (RFC 9110 5.6.2): the characters of a token, such as a field name.
bool IsTchar(char c);

// `s` without leading and trailing OWS (which is what TrimBlanks trims).
inline std::string_view TrimOws(std::string_view s) { return TrimBlanks(s); }

// ASCII case-insensitive equality, as field names and tokens compare.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// A field's list (the #rule of RFC 9110 5.6.1) is split by
// ForEachCommaSeparated (common/text.h): elements OWS-trimmed, empty ones
// included.

}  // namespace qs
