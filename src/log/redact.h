// Keeping connection secrets out of logs, metrics and error messages.
//
// The service is configured with connection strings that may carry a
// password: libpq URIs (postgresql:// and postgres://, one or several hosts,
// the password in the userinfo or in a query parameter such as ?password=
// or ?sslpassword=, percent-encoded or not), libpq key=value conninfo
// strings (quoted values, backslash escapes), and Redis URLs (redis://,
// rediss://, redis-cluster://, the password in the userinfo). Nothing that
// may reach an operator's eyes may show such a password.
//
// The rule when in doubt is to hide more: a value that cannot be parsed is
// hidden whole; an ambiguous part of a URL is hidden with the password.
#pragma once

#include <string>
#include <string_view>

namespace qs::log {

// What every hidden part is replaced with.
inline constexpr std::string_view kRedacted = "***";

// The connection string in a form fit for a log line or an error message:
// every password (and every other sensitive parameter: a key whose name
// holds "pass", "pwd", "secret", "token" or "credential") replaced by "***".
// A URI keeps its form; a conninfo string is rebuilt from what libpq parses
// (libpq's keyword order, values quoted where needed); input that is neither
// a URI nor a conninfo string libpq accepts becomes "***" as a whole.
std::string RedactUrl(std::string_view url);

// `text` with every secret that `url` holds replaced by "***". For the error
// messages of libraries that were handed `url` (libpq's can quote parts of a
// connection string it could not parse). When `url` is not one libpq reads
// the way RedactUrl does (see IsSafelyRedactable), the secrets are not known
// for certain, so every double-quoted fragment of `text` and every word of
// `url` that appears in `text` are hidden as well.
std::string RedactSecrets(std::string_view text, std::string_view url);

// Whether `conninfo` is a PostgreSQL connection string (URI or key=value)
// that libpq accepts and reads exactly as RedactUrl does: parsing
// RedactUrl(conninfo) gives the same options, except that each sensitive one
// is "***". Start-up refuses a database URL for which this is false: libpq
// could otherwise read a password where the redaction sees a host or a port
// (a raw '/' or '@' in a password), and echo it in an error.
bool IsSafelyRedactable(std::string_view conninfo);

// Whether libpq reads `conninfo` as a URI rather than as key=value pairs:
// it does so only for these two exact, lower-case prefixes.
bool IsLibpqUri(std::string_view conninfo);

// Whether a connection parameter with this name holds a secret (compared
// without regard to case).
bool IsSensitiveKey(std::string_view key);

}  // namespace qs::log
