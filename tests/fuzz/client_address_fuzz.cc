// The client address behind trusted proxies, from X-Forwarded-For.
// Input: three parts separated by '\n': a comma-separated list of trusted
// CIDRs (the ones that do not parse are left out), the peer address, and the
// X-Forwarded-For value (absent when there is no second '\n').
//
// Properties: the answer agrees with a reference reading of the contract
// (the peer unless it is trusted; then the right-most hop that is not
// trusted, the left-most when all are, the peer when a hop is garbage); the
// answer is the peer or one trimmed hop; whatever a client prepends to the
// header cannot change an answer that did not come from its left-most entry.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.h"
#include "fuzz/fuzz_check.h"
#include "http/client_address.h"

namespace {

using qs::Cidr;
using qs::IpAddress;

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos
                                      ? std::string_view::npos
                                      : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool Trusted(std::string_view address, const std::vector<Cidr>& trusted) {
  std::optional<IpAddress> ip = IpAddress::Parse(address);
  if (!ip) return false;
  for (const Cidr& c : trusted) {
    if (c.Contains(*ip)) return true;
  }
  return false;
}

struct Expected {
  std::string address;
  // Whether the answer came from the left-most hop (or from no hop at all),
  // the only case in which entries further left could have changed it.
  bool from_left_end;
};

Expected Reference(const std::string& peer,
                   const std::optional<std::string>& xff,
                   const std::vector<Cidr>& trusted) {
  if (!xff || !Trusted(peer, trusted)) return {peer, false};
  std::vector<std::string_view> hops;
  for (std::string_view hop : Split(*xff, ',')) {
    hop = Trim(hop);
    if (!hop.empty()) hops.push_back(hop);
  }
  for (size_t i = hops.size(); i-- > 0;) {
    if (!IpAddress::Parse(hops[i])) return {peer, false};
    if (!Trusted(hops[i], trusted)) return {std::string(hops[i]), i == 0};
  }
  if (hops.empty()) return {peer, true};
  return {std::string(hops.front()), true};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t first = input.find('\n');
  if (first == std::string_view::npos) return 0;
  std::vector<Cidr> trusted;
  for (std::string_view item : Split(input.substr(0, first), ',')) {
    if (auto cidr = Cidr::Parse(Trim(item))) trusted.push_back(*cidr);
  }
  std::string_view rest = input.substr(first + 1);
  size_t second = rest.find('\n');
  std::string peer(rest.substr(0, second));
  std::optional<std::string> xff;
  if (second != std::string_view::npos) xff.emplace(rest.substr(second + 1));

  std::string got = qs::http::ResolveClientAddress(peer, xff, trusted);
  Expected want = Reference(peer, xff, trusted);
  QS_FUZZ_CHECK(got == want.address,
                "the client address agrees with the reference");
  if (got != peer) {
    QS_FUZZ_CHECK(IpAddress::Parse(got).has_value(),
                  "an address taken from the header parses");
    QS_FUZZ_CHECK(got == Trim(got) && got.find(',') == std::string::npos,
                  "an address taken from the header is one trimmed hop");
  }

  // A client controls everything left of what its first proxy appended.
  if (xff && !want.from_left_end) {
    for (std::string_view forged :
         {"1.2.3.4", "garbage", "::1, 10.0.0.1", ""}) {
      std::optional<std::string> longer = std::string(forged) + "," + *xff;
      QS_FUZZ_CHECK(
          qs::http::ResolveClientAddress(peer, longer, trusted) == got,
          "entries a client prepends never change the answer");
    }
  }
  return 0;
}
