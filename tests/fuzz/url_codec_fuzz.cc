// Percent-decoding of query strings, its encoder, and the query-parameter
// lookup built on them.
//
// Properties: PercentDecode agrees with a plain reference decoder (same
// acceptance, same bytes) in both '+' modes; PercentEncode emits only
// unreserved characters and upper-case %XX, at most three bytes per byte, and
// decodes back to its input; FindQueryParam agrees with a reference lookup,
// and finds an encoded value planted first in the query.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/url_codec.h"
#include "fuzz/fuzz_check.h"

namespace {

using qs::api::FindQueryParam;
using qs::api::PercentDecode;
using qs::api::PercentEncode;

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The header's contract, written the obvious way.
std::optional<std::string> ReferenceDecode(std::string_view in, bool plus) {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] == '%') {
      if (in.size() - i < 3 || Hex(in[i + 1]) < 0 || Hex(in[i + 2]) < 0) {
        return std::nullopt;
      }
      out += static_cast<char>(Hex(in[i + 1]) * 16 + Hex(in[i + 2]));
      i += 3;
    } else {
      out += (plus && in[i] == '+') ? ' ' : in[i];
      ++i;
    }
  }
  return out;
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

bool IsUpperHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

std::optional<std::string> ReferenceFind(std::string_view query,
                                         std::string_view name,
                                         bool* duplicated) {
  *duplicated = false;
  std::optional<std::string> found;
  size_t pos = 0;
  while (true) {
    size_t amp = query.find('&', pos);
    std::string_view pair =
        query.substr(pos, amp == std::string_view::npos ? std::string_view::npos
                                                        : amp - pos);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::optional<std::string> key =
          ReferenceDecode(pair.substr(0, eq), true);
      if (key && *key == name) {
        if (found) {
          *duplicated = true;
          return found;
        }
        found = eq == std::string_view::npos ? std::string()
                                             : std::string(pair.substr(eq + 1));
      }
    }
    if (amp == std::string_view::npos) return found;
    pos = amp + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  for (bool plus : {false, true}) {
    std::optional<std::string> got = PercentDecode(input, plus);
    std::optional<std::string> want = ReferenceDecode(input, plus);
    QS_FUZZ_CHECK(got == want, "PercentDecode agrees with the reference");
  }

  std::string encoded = PercentEncode(input);
  QS_FUZZ_CHECK(encoded.size() <= 3 * input.size(), "at most 3 bytes per byte");
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%') {
      QS_FUZZ_CHECK(i + 2 < encoded.size() && IsUpperHex(encoded[i + 1]) &&
                        IsUpperHex(encoded[i + 2]),
                    "escapes are %XX in upper-case hex");
      i += 2;
    } else {
      QS_FUZZ_CHECK(IsUnreserved(encoded[i]),
                    "only unreserved characters are left unescaped");
    }
  }
  QS_FUZZ_CHECK(PercentDecode(encoded, false) == std::string(input),
                "decode(encode(x)) == x");
  QS_FUZZ_CHECK(PercentDecode(encoded, true) == std::string(input),
                "decode(encode(x)) == x with '+' as space");

  // The first byte splits the rest into a parameter name and a query.
  if (!input.empty()) {
    size_t name_length = static_cast<unsigned char>(input[0]) % 16;
    std::string_view rest = input.substr(1);
    std::string_view name = rest.substr(0, name_length);
    std::string_view query = rest.substr(std::min(name_length, rest.size()));
    bool duplicated = true, want_duplicated = true;
    std::optional<std::string> got = FindQueryParam(query, name, &duplicated);
    std::optional<std::string> want =
        ReferenceFind(query, name, &want_duplicated);
    QS_FUZZ_CHECK(got == want, "FindQueryParam agrees with the reference");
    QS_FUZZ_CHECK(duplicated == want_duplicated,
                  "FindQueryParam's duplicate flag agrees with the reference");

    // A value planted first, under an encoded name, is found and decodes
    // back; whatever follows cannot change that.
    std::string planted = PercentEncode(name) + "=" + PercentEncode(query) +
                          "&" + std::string(query);
    std::optional<std::string> value = FindQueryParam(planted, name, nullptr);
    QS_FUZZ_CHECK(value.has_value(), "a planted parameter is found");
    QS_FUZZ_CHECK(PercentDecode(*value, true) == std::string(query),
                  "a planted value decodes back");
  }
  return 0;
}
