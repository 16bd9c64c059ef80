#include "auth/bearer.h"

#include <strings.h>

namespace qs::auth {

std::optional<std::string> BearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "bearer";
  if (header.size() < kScheme.size() ||
      strncasecmp(header.data(), kScheme.data(), kScheme.size()) != 0) {
    return std::nullopt;
  }
  size_t i = kScheme.size();
  if (i < header.size() && header[i] != ' ') return std::nullopt;
  while (i < header.size() && header[i] == ' ') ++i;
  size_t end = header.size();
  while (end > i && (header[end - 1] == ' ' || header[end - 1] == '\t')) --end;
  return std::string(header.substr(i, end - i));
}

}  // namespace qs::auth
