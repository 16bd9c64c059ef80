// Small parsers of ASCII text shared by the settings, URL and reply parsers.
// None of them allocates, throws or looks at the locale.
#pragma once

#include <cstddef>
#include <cstdint>
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

}  // namespace qs
