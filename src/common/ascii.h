// Character classes of ASCII, for the grammars the service reads (URLs,
// HTTP fields, JSON fields, settings, tokens). Unlike <cctype> none of them
// looks at the locale, and every byte of 0x80 and above is in no class, so
// a grammar's answer is the same on every machine. Each caller uses the
// class its grammar names; a grammar with extra characters adds them itself.
#pragma once

#include <cstddef>
#include <string_view>

namespace qs::ascii {

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

constexpr bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

constexpr bool IsLower(char c) { return c >= 'a' && c <= 'z'; }

// ALPHA (RFC 5234): A-Z a-z.
constexpr bool IsAlpha(char c) { return IsUpper(c) || IsLower(c); }

// ALPHA / DIGIT.
constexpr bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

// HEXDIG of either case: 0-9 A-F a-f.
constexpr bool IsHexDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The value of a hex digit of either case, or -1 for any other byte.
constexpr int HexDigitValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// White space as the C locale has it: SP, HTAB, LF, VT, FF, CR.
constexpr bool IsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// A-Z as a-z; every other byte as it is.
constexpr char ToLower(char c) {
  return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c;
}

// The characters of identifiers (schedule ids, API keys and tokens):
// [A-Za-z0-9_-], which is also the base64url alphabet.
constexpr bool IsIdentifierChar(char c) {
  return IsAlnum(c) || c == '_' || c == '-';
}

// Whether `s` is 1 to `max_length` identifier characters.
constexpr bool IsIdentifier(std::string_view s, size_t max_length) {
  if (s.empty() || s.size() > max_length) return false;
  for (char c : s) {
    if (!IsIdentifierChar(c)) return false;
  }
  return true;
}

// The base64url alphabet (RFC 4648 section 5), a character per 6-bit value.
inline constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace qs::ascii
