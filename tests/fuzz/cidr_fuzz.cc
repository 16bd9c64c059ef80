// The CIDR and address parser behind QS_TRUSTED_PROXIES and X-Forwarded-For.
// Input: a CIDR text, optionally followed by '\n' and an address to probe.
//
// Properties: an accepted CIDR has an address part that parses and a prefix
// within 0..32 (IPv4) or 0..128 (IPv6); it contains its own network address;
// Contains agrees with a bit-by-bit reference; an address printed back with
// inet_ntop parses to the same bytes; an IPv4 address is held IPv4-mapped; a
// CIDR printed back parses to a network that contains the same addresses.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/cidr.h"
#include "fuzz/fuzz_check.h"

namespace {

using qs::Cidr;
using qs::IpAddress;

bool IsMapped(const IpAddress& a) {
  for (int i = 0; i < 10; ++i) {
    if (a.bytes[i] != 0) return false;
  }
  return a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}

std::string PrintV6(const IpAddress& a) {
  char buf[INET6_ADDRSTRLEN];
  QS_FUZZ_CHECK(inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof buf),
                "inet_ntop prints any address");
  return buf;
}

std::string PrintV4(const IpAddress& a) {
  char buf[INET_ADDRSTRLEN];
  QS_FUZZ_CHECK(inet_ntop(AF_INET, &a.bytes[12], buf, sizeof buf),
                "inet_ntop prints any IPv4 address");
  return buf;
}

void CheckAddress(const IpAddress& a, std::string_view text) {
  std::optional<IpAddress> again = IpAddress::Parse(PrintV6(a));
  QS_FUZZ_CHECK(again && again->bytes == a.bytes,
                "an address printed back parses to the same bytes");
  if (text.find(':') == std::string_view::npos) {
    QS_FUZZ_CHECK(IsMapped(a), "an IPv4 address is held IPv4-mapped");
  }
}

bool ReferenceContains(const IpAddress& net, int bits, const IpAddress& a) {
  for (int i = 0; i < bits; ++i) {
    int byte = i / 8, shift = 7 - i % 8;
    if (((net.bytes[byte] >> shift) & 1) != ((a.bytes[byte] >> shift) & 1)) {
      return false;
    }
  }
  return true;
}

// The prefix length as Cidr::Parse reads it: decimal digits, leading zeros
// and a "-0" spelling of zero tolerated (std::from_chars reads them so).
std::optional<int> PrefixBits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool negative = s[0] == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);  // as from_chars
  if (s.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (negative && v != 0) return std::nullopt;
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string_view text = input.substr(0, newline);
  std::optional<IpAddress> probe;
  if (newline != std::string_view::npos) {
    std::string_view probe_text = input.substr(newline + 1);
    probe = IpAddress::Parse(probe_text);
    if (probe) CheckAddress(*probe, probe_text);
  }
  if (auto a = IpAddress::Parse(text)) CheckAddress(*a, text);

  std::optional<Cidr> cidr = Cidr::Parse(text);
  if (!cidr) return 0;

  size_t slash = text.find('/');
  std::string_view addr_text = text.substr(0, slash);
  std::optional<IpAddress> net = IpAddress::Parse(addr_text);
  QS_FUZZ_CHECK(net.has_value(), "an accepted CIDR's address parses");
  bool v4 = addr_text.find(':') == std::string_view::npos;
  int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    std::optional<int> parsed = PrefixBits(text.substr(slash + 1));
    QS_FUZZ_CHECK(parsed.has_value(), "an accepted prefix is a number");
    bits = *parsed;
  }
  QS_FUZZ_CHECK(bits >= 0 && bits <= max_bits,
                "an accepted prefix is within the family's width");
  int bits128 = v4 ? bits + 96 : bits;

  QS_FUZZ_CHECK(cidr->Contains(*net), "a CIDR contains its network address");

  std::string printed =
      (v4 ? PrintV4(*net) : PrintV6(*net)) + "/" + std::to_string(bits);
  std::optional<Cidr> reparsed = Cidr::Parse(printed);
  QS_FUZZ_CHECK(reparsed.has_value(), "a CIDR printed back parses");

  if (probe) {
    bool contains = cidr->Contains(*probe);
    QS_FUZZ_CHECK(contains == ReferenceContains(*net, bits128, *probe),
                  "Contains agrees with the bit-by-bit reference");
    QS_FUZZ_CHECK(reparsed->Contains(*probe) == contains,
                  "a CIDR printed back contains the same addresses");
  }
  return 0;
}
