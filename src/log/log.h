#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace qs::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses debug, info, warn, error.
bool ParseLevel(std::string_view name, Level* out);
void SetLevel(Level level);
bool Enabled(Level level);

using Field = std::pair<std::string_view, std::string_view>;

// Writes one JSON line to stdout: {"ts":..., "level":..., "event":..., ...}.
// Values are JSON-escaped. Callers must never pass a secret (a token, an
// api_key, an Authorization header, a password in a URL).
void Event(Level level, std::string_view event,
           std::initializer_list<Field> fields = {});

// Writes an already-formatted JSON object as one line on stdout.
void Line(std::string_view json);

// Appends the current UTC time as a quoted RFC 3339 string (milliseconds).
void AppendTimestamp(std::string& out);

// Appends `s` to `out` as a JSON string literal, quotes included.
void AppendJsonString(std::string& out, std::string_view s);

// The connection setting with every password replaced by "***", for logs.
// Reads a URI (scheme://) as libpq and the Redis URL parser do: the password
// of the userinfo, and for libpq the password and sslpassword query
// parameters. Anything else is read as a libpq conninfo string
// (keyword = value, values quoted or not); if it is not one, whatever
// follows the first malformed part is dropped when it names a password.
std::string RedactUrl(std::string_view url);

}  // namespace qs::log
