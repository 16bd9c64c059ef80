// The pieces of HTTP field syntax (RFC 9110 5.6) that the request framer and
// the header parsers (conditional requests, content codings) share. ASCII
// only: none of them looks at the locale.
#pragma once

#include <string_view>

namespace qs::http {

// OWS = *( SP / HTAB )
bool IsOws(char c);

// tchar (RFC 9110 5.6.2): the characters of a token, such as a field name.
bool IsTchar(char c);

// `s` without leading and trailing OWS.
std::string_view TrimOws(std::string_view s);

// ASCII case-insensitive equality, as field names and tokens compare.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Calls `each` with every comma-separated element of `value`, OWS trimmed,
// empty ones included (a list such as "a, ,b" yields "a", "", "b"). Commas
// inside quoted-strings are not special here: a list whose elements may quote
// needs a splitter of its own.
template <typename F>
void ForEachListElement(std::string_view value, F each) {
  for (;;) {
    size_t comma = value.find(',');
    each(TrimOws(value.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace qs::http
