// The bytes of an HTTP/1.x response: status line, headers, Content-Length,
// body. The connection guard writes them to the socket as one raw write.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qs::http {

using ResponseHeaders = std::vector<std::pair<std::string, std::string>>;

// The standard reason phrase of `status` ("OK", "Not Found"), or "" for a
// code without one (the status line then ends after the code and a space,
// as RFC 9112 allows).
std::string_view ReasonPhrase(int status);

// "HTTP/1.<minor_version> <status> <reason>", then `headers` in order, then
// "Connection: <connection>" unless it is empty, then Content-Length and
// `body` (neither for 204 and 304, which have no content; a response to a
// HEAD request would need the length without the body; the service answers
// HEAD with 405, so it never writes one).
std::string SerializeResponse(int minor_version, int status,
                              const ResponseHeaders& headers,
                              std::string_view connection,
                              std::string_view body);

}  // namespace qs::http
