#include "http/client_address.h"

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

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::string ResolveClientAddress(
    const std::string& peer, const std::optional<std::string>& forwarded_for,
    const std::vector<Cidr>& trusted) {
  if (!forwarded_for || !IsTrusted(peer, trusted)) return peer;
  std::vector<std::string> hops;
  size_t start = 0;
  while (start <= forwarded_for->size()) {
    size_t comma = forwarded_for->find(',', start);
    std::string hop = Trim(forwarded_for->substr(
        start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!hop.empty()) hops.push_back(hop);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    if (!IpAddress::Parse(*it)) return peer;  // garbage: trust nothing of it
    if (!IsTrusted(*it, trusted)) return *it;
  }
  return hops.empty() ? peer : hops.front();
}

}  // namespace qs::http
