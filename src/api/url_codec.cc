#include "api/url_codec.h"

#include "common/ascii.h"

namespace qs::api {
namespace {

bool IsUnreserved(char c) {
  return ascii::IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// Whether `encoded` decodes to exactly `name`, without allocating in the
// common case of a name with no escapes.
bool NameMatches(std::string_view encoded, std::string_view name) {
  if (encoded.find_first_of("%+") == std::string_view::npos) {
    return encoded == name;
  }
  std::optional<std::string> decoded = PercentDecode(encoded, true);
  return decoded && *decoded == name;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view in,
                                         bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = ascii::HexDigitValue(in[i + 1]);
      int lo = ascii::HexDigitValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>((hi << 4) | lo);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string PercentEncode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (unsigned char c : in) {
    if (IsUnreserved(static_cast<char>(c))) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::optional<std::string> FindQueryParam(std::string_view raw_query,
                                          std::string_view name,
                                          bool* duplicated) {
  if (duplicated != nullptr) *duplicated = false;
  std::optional<std::string> found;
  size_t pos = 0;
  while (pos <= raw_query.size()) {
    size_t amp = raw_query.find('&', pos);
    if (amp == std::string_view::npos) amp = raw_query.size();
    std::string_view pair = raw_query.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (!NameMatches(key, name)) continue;
    if (found) {
      if (duplicated != nullptr) *duplicated = true;
      break;  // the first value is kept; nothing more to learn
    }
    found = eq == std::string_view::npos ? std::string()
                                         : std::string(pair.substr(eq + 1));
  }
  return found;
}

}  // namespace qs::api
