#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace qs {

// An IPv4 or IPv6 address, IPv4 held as IPv4-mapped IPv6 so one comparison
// serves both.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  static std::optional<IpAddress> Parse(std::string_view text);
};

// A network such as 10.0.0.0/8 or ::1/128; a bare address is a /32 or /128.
class Cidr {
 public:
  static std::optional<Cidr> Parse(std::string_view text);
  bool Contains(const IpAddress& address) const;

 private:
  IpAddress network_;
  int prefix_bits_ = 128;  // over the 128-bit (mapped) form
};

}  // namespace qs
