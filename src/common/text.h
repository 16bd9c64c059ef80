// Small parsers and encoders of ASCII text shared by the settings, URL,
// header and reply parsers. None of them looks at the locale; only
// AsciiLower and Base64UrlEncode allocate, and none throws but when out of
// memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace qs {

bool StartsWith(std::string_view s, std::string_view prefix);

// Digits only (no sign, no blanks), 1 to `max_digits` of them, value in
// [lo, hi]; sets *out and returns true, or leaves *out alone and returns
// false. `max_digits` must be at most 18, which keeps the value in int64_t.
bool ParseDecimal(std::string_view s, size_t max_digits, int64_t lo, int64_t hi,
                  int64_t* out);

// An optionally negative decimal integer filling all of `s` (std::from_chars
// syntax: a leading '-', no '+', no blanks), value in [lo, hi]; sets *out and
// returns true, or leaves *out alone and returns false.
bool ParseInteger(std::string_view s, int64_t lo, int64_t hi, int64_t* out);

// `s` with A-Z as a-z (ascii::ToLower), as field names and keys compare.
std::string AsciiLower(std::string_view s);

// `s` without leading and trailing SP and HTAB.
std::string_view TrimBlanks(std::string_view s);

// Calls `each` with every comma-separated element of `list`, SP and HTAB
// trimmed, empty ones included (a list such as "a, ,b" yields "a", "", "b";
// an empty list yields one empty element). Commas inside quotes are not
// special here: a list whose elements may quote needs a splitter of its own.
template <typename F>
void ForEachCommaSeparated(std::string_view list, F each) {
  for (;;) {
    size_t comma = list.find(',');
    each(TrimBlanks(list.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

// The base64url encoding (RFC 4648 section 5) of `n` bytes, without padding:
// (n * 8 + 5) / 6 characters of ascii::kBase64UrlAlphabet.
std::string Base64UrlEncode(const unsigned char* bytes, size_t n);

}  // namespace qs
