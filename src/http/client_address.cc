#include "http/client_address.h"

#include "common/header_syntax.h"

namespace qs::http {
namespace {

bool IsTrusted(const std::string& address, const std::vector<Cidr>& trusted) {
  auto ip = IpAddress::Parse(address);
  if (!ip) return false;
  for (const Cidr& c : trusted) {
    if (c.Contains(*ip)) return true;
  }
  return false;
}

}  // namespace

std::string ResolveClientAddress(
    const std::string& peer, const std::optional<std::string>& forwarded_for,
    const std::vector<Cidr>& trusted) {
  if (!forwarded_for || !IsTrusted(peer, trusted)) return peer;
  std::vector<std::string> hops;
  ForEachCommaSeparated(*forwarded_for, [&](std::string_view hop) {
    if (!hop.empty()) hops.emplace_back(hop);
  });
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    if (!IpAddress::Parse(*it)) return peer;  // garbage: trust nothing of it
    if (!IsTrusted(*it, trusted)) return *it;
  }
  return hops.empty() ? peer : hops.front();
}

}  // namespace qs::http
