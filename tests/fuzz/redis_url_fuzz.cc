// The Redis URL setting (QS_REDIS_URL), as RedisWindowCounter parses it.
//
// Properties: an accepted URL keeps its text, starts with redis:// or
// redis-cluster://, has a host, a port in 1..65535 and a db in 0..999999999
// (0 in a cluster), a password whenever it has credentials; a cluster URL
// has 1 to 64 seeds, the first of them its host; printing the parsed parts
// back (percent-encoded) parses to the same parts. A rejection is
// InvalidArgument with a problem-details-safe detail, and its internal text
// never repeats the password as written.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/request_parser.h"
#include "api/url_codec.h"
#include "fuzz/fuzz_check.h"
#include "ratelimit/redis_window_counter.h"

namespace {

using qs::ratelimit::RedisOptions;
using qs::ratelimit::RedisWindowCounter;

// Characters of the fixed error texts; a password with any other character
// cannot be one of their substrings by chance.
bool OnlyMessageCharacters(std::string_view s) {
  for (unsigned char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == ' ' || c == '(' || c == ')' ||
              c == '.' || c == ',' || c == '/' || c == ':' || c == '[' ||
              c == ']' || c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

std::string PrintHost(const std::string& host, int port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

std::string Print(const RedisOptions& o) {
  std::string out = o.cluster ? "redis-cluster://" : "redis://";
  if (!o.password.empty()) {
    out += qs::api::PercentEncode(o.user) + ":" +
           qs::api::PercentEncode(o.password) + "@";
  }
  if (o.cluster) {
    for (size_t i = 0; i < o.seeds.size(); ++i) {
      if (i > 0) out += ",";
      out += PrintHost(o.seeds[i].host, o.seeds[i].port);
    }
    return out;
  }
  out += PrintHost(o.host, o.port) + "/" + std::to_string(o.db);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view url(reinterpret_cast<const char*>(data), size);
  qs::Result<RedisOptions> parsed = RedisWindowCounter::ParseRedisUrl(url);

  const size_t scheme = url.rfind("redis-cluster://", 0) == 0
                            ? 16
                            : std::string_view("redis://").size();
  std::string_view rest = url.substr(std::min<size_t>(url.size(), scheme));
  std::string_view authority = rest.substr(0, rest.find('/'));
  size_t at = authority.rfind('@');
  std::string_view written_password;
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      written_password = userinfo.substr(colon + 1);
    }
  }

  if (!parsed.ok()) {
    const qs::Error& e = parsed.error();
    QS_FUZZ_CHECK(e.code == qs::ErrorCode::kInvalidArgument,
                  "a rejection is InvalidArgument");
    QS_FUZZ_CHECK(qs::api::IsValidDetail(e.detail),
                  "the detail matches the problem-details pattern");
    if (!written_password.empty() && !OnlyMessageCharacters(written_password)) {
      QS_FUZZ_CHECK(e.internal.find(written_password) == std::string::npos,
                    "an error never repeats the password");
    }
    return 0;
  }

  const RedisOptions& o = parsed.value();
  QS_FUZZ_CHECK(o.url == url, "the URL is kept as given");
  QS_FUZZ_CHECK(url.rfind(o.cluster ? "redis-cluster://" : "redis://", 0) == 0,
                "only redis:// and redis-cluster:// are accepted");
  if (o.cluster) {
    QS_FUZZ_CHECK(!o.seeds.empty() && o.seeds.size() <= 64, "1 to 64 seeds");
    QS_FUZZ_CHECK(
        o.seeds.front().host == o.host && o.seeds.front().port == o.port,
        "the first seed is the host");
    QS_FUZZ_CHECK(o.db == 0, "a cluster has database 0 only");
    for (const auto& seed : o.seeds) {
      QS_FUZZ_CHECK(!seed.host.empty() && seed.port >= 1 && seed.port <= 65535,
                    "every seed has a host and a port");
    }
  } else {
    QS_FUZZ_CHECK(o.seeds.empty(), "one node has no seeds");
  }
  QS_FUZZ_CHECK(url.find_first_of("?#") == std::string_view::npos,
                "no query or fragment is accepted");
  QS_FUZZ_CHECK(!o.host.empty(), "there is a host");
  QS_FUZZ_CHECK(o.port >= 1 && o.port <= 65535, "port in 1..65535");
  QS_FUZZ_CHECK(o.db >= 0 && o.db <= 999999999, "db in 0..999999999");
  QS_FUZZ_CHECK((at != std::string_view::npos) == !o.password.empty(),
                "credentials always carry a password");
  QS_FUZZ_CHECK(!o.password.empty() || o.user.empty(),
                "no user name without a password");

  qs::Result<RedisOptions> again = RedisWindowCounter::ParseRedisUrl(Print(o));
  QS_FUZZ_CHECK(again.ok(), "a URL printed back parses");
  const RedisOptions& p = again.value();
  QS_FUZZ_CHECK(p.host == o.host && p.port == o.port && p.user == o.user &&
                    p.password == o.password && p.db == o.db &&
                    p.cluster == o.cluster && p.seeds == o.seeds,
                "a URL printed back parses to the same parts");
  return 0;
}
