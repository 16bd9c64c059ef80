// JSON string literals for the hand-written JSON of responses and log lines.
#pragma once

#include <string>
#include <string_view>

namespace qs {

// Appends `s` to `out` as a JSON string literal, quotes included. Bytes are
// copied as they are but for '"', '\\' and the control characters, which are
// escaped (so the result is valid JSON when `s` is valid UTF-8).
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace qs
