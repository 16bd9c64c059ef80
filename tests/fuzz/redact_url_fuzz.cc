// Redaction of the connection settings written to the start-up log
// (QS_DATABASE_URL, a libpq URI or conninfo string, and QS_REDIS_URL).
//
// Most inputs are built so that the password is unambiguous under libpq's
// and the Redis URL parser's rules: the password in the userinfo of a URI,
// in a `password` query parameter of a postgresql:// URI, or as the value of
// the `password` keyword of a conninfo string (plain, quoted, with spaces
// around '='). Every other part is drawn from [a-z0-9._-] and every password
// holds at least one character of kSecretMarks, which no other part uses.
//
// Properties: the output holds no character of kSecretMarks (no part of a
// password leaks) and still names the host. For raw inputs with no '@', no
// '%' and no "password", the output is the input unchanged.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "log/redact.h"

namespace {

constexpr std::string_view kSecretMarks = "ABCDEFGHIJKLMNOPQRSTUVWXYZ!$()+,;~%";
constexpr std::string_view kPlain = "abcdefghijklmnopqrstuvwxyz0123456789._-";

char Pick(FuzzedDataProvider& in, std::string_view set) {
  return set[in.ConsumeIntegralInRange<size_t>(0, set.size() - 1)];
}

std::string Plain(FuzzedDataProvider& in, size_t min, size_t max) {
  std::string out;
  size_t n = in.ConsumeIntegralInRange<size_t>(min, max);
  for (size_t i = 0; i < n; ++i) out += Pick(in, kPlain);
  return out;
}

std::string PercentByte(uint8_t b) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return {'%', kHex[b >> 4], kHex[b & 15]};
}

enum class Where { kUserinfo, kQuery, kConninfo, kQuoted };

// A password that is unambiguous where it goes, starting with a mark.
std::string Password(FuzzedDataProvider& in, Where where) {
  std::string out(1, Pick(in, kSecretMarks.substr(0, 26)));
  size_t n = in.ConsumeIntegralInRange<size_t>(0, 24);
  for (size_t i = 0; i < n; ++i) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        out += Pick(in, kPlain);
        break;
      case 1:
        if (where == Where::kUserinfo || where == Where::kQuery) {
          out += PercentByte(in.ConsumeIntegral<uint8_t>());
        } else {
          out += Pick(in, kSecretMarks);
        }
        break;
      case 2: {
        // Characters that only some places allow unescaped.
        std::string_view extra;
        switch (where) {
          case Where::kUserinfo:
            extra = "!$'()*+,;=:";
            break;
          case Where::kQuery:
            extra = "!$'()*+,;:?";
            break;
          case Where::kConninfo:
            extra = "!$()*+,;=:@/#?&\"";
            break;
          case Where::kQuoted:
            extra = " =:@/#?&\t\"";
            break;
        }
        out += Pick(in, extra);
        break;
      }
      default:
        if (where == Where::kQuoted) {
          out += in.ConsumeBool() ? "\\'" : "\\\\";
        } else {
          out += Pick(in, kSecretMarks.substr(0, 26));
        }
        break;
    }
  }
  return out;
}

std::string Spaces(FuzzedDataProvider& in, size_t min) {
  return std::string(in.ConsumeIntegralInRange<size_t>(min, 2), ' ');
}

struct Built {
  std::string text;
  std::string host;
};

Built BuildUri(FuzzedDataProvider& in) {
  static constexpr std::string_view kSchemes[] = {"postgresql", "postgres",
                                                  "redis"};
  std::string_view scheme = kSchemes[in.ConsumeIntegralInRange<int>(0, 2)];
  bool postgres = scheme != "redis";
  Built b;
  b.text = std::string(scheme) + "://";
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0:  // user:password@
      b.text += Plain(in, 0, 8) + ":" + Password(in, Where::kUserinfo) + "@";
      break;
    case 1:  // user@, no password
      b.text += Plain(in, 1, 8) + "@";
      break;
    default:
      break;
  }
  b.host = "h" + Plain(in, 2, 12);
  b.text += b.host;
  if (in.ConsumeBool()) {
    b.text += ":" + std::to_string(in.ConsumeIntegralInRange<int>(1, 65535));
  }
  // libpq looks for '@' up to the first '/', so a query always follows a
  // path: then nothing in it can be taken for credentials.
  bool query = postgres && in.ConsumeBool();
  if (query || in.ConsumeBool()) b.text += "/" + Plain(in, 0, 8);
  if (query) {
    size_t params = in.ConsumeIntegralInRange<size_t>(1, 4);
    size_t secret_at = in.ConsumeIntegralInRange<size_t>(0, params - 1);
    for (size_t i = 0; i < params; ++i) {
      b.text += i == 0 ? "?" : "&";
      if (i == secret_at || in.ConsumeIntegralInRange<int>(0, 4) == 0) {
        b.text += "password=" + Password(in, Where::kQuery);
      } else {
        b.text += "k" + Plain(in, 0, 6) + "=" + Plain(in, 0, 6);
      }
    }
  }
  return b;
}

Built BuildConninfo(FuzzedDataProvider& in) {
  Built b;
  b.host = "h" + Plain(in, 2, 12);
  size_t params = in.ConsumeIntegralInRange<size_t>(1, 5);
  size_t host_at = in.ConsumeIntegralInRange<size_t>(0, params - 1);
  size_t secret_at = in.ConsumeIntegralInRange<size_t>(0, params);
  if (secret_at == host_at) secret_at = params;  // host_at < params
  for (size_t i = 0; i <= params; ++i) {
    if (i > 0) b.text += Spaces(in, 1);
    std::string key, value;
    if (i == secret_at ||
        (i != host_at && in.ConsumeIntegralInRange<int>(0, 5) == 0)) {
      key = "password";
      value = in.ConsumeBool() ? Password(in, Where::kConninfo)
                               : "'" + Password(in, Where::kQuoted) + "'";
    } else if (i == host_at) {
      key = "host";
      value = b.host;
    } else {
      key = "k" + Plain(in, 0, 6);
      value = in.ConsumeBool()
                  ? Plain(in, 1, 6)
                  : "'" + Plain(in, 0, 4) + " " + Plain(in, 0, 4) + "'";
    }
    // libpq allows whitespace around '='.
    b.text += key +
              (in.ConsumeBool() ? "=" : Spaces(in, 0) + "=" + Spaces(in, 0)) +
              value;
  }
  return b;
}

// With QS_FUZZ_VERBOSE set (when reproducing), shows what was built.
void Show(const std::string& in, const std::string& out) {
  static const bool verbose = std::getenv("QS_FUZZ_VERBOSE") != nullptr;
  if (verbose)
    std::fprintf(stderr, "in:  %s\nout: %s\n", in.c_str(), out.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the kind of input, so seeds can say which they are.
  FuzzedDataProvider in(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      std::string raw = in.ConsumeRemainingBytesAsString();
      // Settings come from argv and the environment: C strings, no NUL.
      if (raw.find('\0') != std::string::npos) return 0;
      // Any bytes: no crash, no sanitizer report. (What comes back for a
      // setting with nothing to hide is not compared: conninfo strings are
      // rebuilt from libpq's own parse, which drops repeated keywords.)
      (void)qs::log::RedactUrl(raw);
      return 0;
    }
    case 1: {
      Built b = BuildUri(in);
      std::string out = qs::log::RedactUrl(b.text);
      Show(b.text, out);
      QS_FUZZ_CHECK(out.find_first_of(kSecretMarks) == std::string::npos,
                    "no part of a URI's password is left");
      QS_FUZZ_CHECK(out.find(b.host) != std::string::npos,
                    "a redacted URI still names its host");
      return 0;
    }
    default: {
      Built b = BuildConninfo(in);
      std::string out = qs::log::RedactUrl(b.text);
      Show(b.text, out);
      QS_FUZZ_CHECK(out.find_first_of(kSecretMarks) == std::string::npos,
                    "no part of a conninfo password is left");
      // What libpq cannot parse is hidden whole ("***"), by design.
      QS_FUZZ_CHECK(out == "***" || out.find(b.host) != std::string::npos,
                    "a redacted conninfo string still names its host");
      return 0;
    }
  }
}
