#include "common/cidr.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "common/text.h"

namespace qs {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  // Accept a bracketed IPv6 literal as some proxies write it.
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') {
    s = s.substr(1, s.size() - 2);
  }
  IpAddress out;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out.bytes[10] = 0xff;
    out.bytes[11] = 0xff;
    std::memcpy(&out.bytes[12], &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.bytes.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = IpAddress::Parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  bool v4 = addr->bytes[10] == 0xff && addr->bytes[11] == 0xff &&
            text.substr(0, slash).find(':') == std::string_view::npos;
  int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    int64_t parsed;
    if (!ParseInteger(text.substr(slash + 1), 0, max_bits, &parsed)) {
      return std::nullopt;
    }
    bits = static_cast<int>(parsed);
  }
  Cidr c;
  c.prefix_bits_ = v4 ? bits + 96 : bits;
  c.network_ = *addr;
  return c;
}

bool Cidr::Contains(const IpAddress& address) const {
  int bits = prefix_bits_;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((address.bytes[i] & mask) != (network_.bytes[i] & mask)) return false;
  }
  return true;
}

}  // namespace qs
