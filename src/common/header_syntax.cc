#include "common/header_syntax.h"

#include "common/ascii.h"

namespace qs {

bool IsOws(char c) { return c == ' ' || c == '\t'; }

bool IsTchar(char c) {
  return ascii::IsAlnum(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii::ToLower(a[i]) != ascii::ToLower(b[i])) return false;
  }
  return true;
}

}  // namespace qs
