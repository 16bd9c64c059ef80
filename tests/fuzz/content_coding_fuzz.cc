// Content codings: the input is taken as an Accept-Encoding field value,
// and (when at most 4 KiB) as a response body to compress.
//
// Properties: ChooseEncoding is total and never picks a coding that a
// well-formed element of the field refused with q=0 (gzip and x-gzip being
// one coding), as read by an independent reference here; appending refusals
// of both codings gives identity, and appending one refusal never yields
// that coding. Compress with gzip and with zstd, at a level the input
// picks, gives bytes that zlib and libzstd decode (every member, every
// frame) back to the body, and the same bytes twice.
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/content_coding.h"
#include "common/text.h"
#include "fuzz/fuzz_check.h"
#include "support/content_decoders.h"

namespace {

using qs::ChooseEncoding;
using qs::Compress;
using qs::Encoding;
using qs::testing::Gunzip;
using qs::testing::Unzstd;

char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Whether `element` (trimmed) reads `<name> OWS ";" OWS ("q"|"Q") "="
// "0" ["." 0*3"0"]` with `name` compared case-insensitively.
bool RefusesExplicitly(std::string_view element, std::string_view name) {
  if (element.size() < name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (Lower(element[i]) != name[i]) return false;
  }
  std::string_view rest = qs::TrimBlanks(element.substr(name.size()));
  if (rest.empty() || rest[0] != ';') return false;
  rest = qs::TrimBlanks(rest.substr(1));
  if (rest.size() < 3 || Lower(rest[0]) != 'q' || rest[1] != '=' ||
      rest[2] != '0') {
    return false;
  }
  rest.remove_prefix(3);
  if (rest.empty()) return true;
  if (rest[0] != '.' || rest.size() > 4) return false;
  return rest.substr(1).find_first_not_of('0') == std::string_view::npos;
}

// The codings a field refuses by name, by the reference reading above.
void Refusals(std::string_view header, bool* gzip, bool* zstd) {
  *gzip = *zstd = false;
  while (true) {
    size_t comma = header.find(',');
    std::string_view element = qs::TrimBlanks(header.substr(0, comma));
    *gzip = *gzip || RefusesExplicitly(element, "gzip") ||
            RefusesExplicitly(element, "x-gzip");
    *zstd = *zstd || RefusesExplicitly(element, "zstd");
    if (comma == std::string_view::npos) return;
    header.remove_prefix(comma + 1);
  }
}

void CheckChoice(std::string_view header) {
  Encoding chosen = ChooseEncoding(header);
  QS_FUZZ_CHECK(chosen == Encoding::kIdentity || chosen == Encoding::kGzip ||
                    chosen == Encoding::kZstd,
                "one of the three codings");
  bool gzip_refused, zstd_refused;
  Refusals(header, &gzip_refused, &zstd_refused);
  QS_FUZZ_CHECK(!(gzip_refused && chosen == Encoding::kGzip),
                "gzip refused with q=0 is never chosen");
  QS_FUZZ_CHECK(!(zstd_refused && chosen == Encoding::kZstd),
                "zstd refused with q=0 is never chosen");

  std::string h(header);
  QS_FUZZ_CHECK(ChooseEncoding(h + ",zstd;q=0") != Encoding::kZstd,
                "an appended zstd refusal stands");
  QS_FUZZ_CHECK(ChooseEncoding(h + ", X-Gzip ; Q=0.00") != Encoding::kGzip,
                "an appended gzip refusal stands");
  QS_FUZZ_CHECK(
      ChooseEncoding(h + ",gzip;q=0,\tzstd;q=0.000") == Encoding::kIdentity,
      "refusing both codings gives identity");
}

void CheckRoundTrip(std::string_view body, int selector) {
  for (Encoding encoding : {Encoding::kGzip, Encoding::kZstd}) {
    // Levels past the clamps too; zstd's slowest levels only now and then.
    int level =
        encoding == Encoding::kGzip
            ? selector % 12 - 1
            : (selector % 8 == 0 ? 19 + selector % 5 : selector % 10 - 1);
    qs::Result<std::string> encoded = Compress(encoding, body, level);
    QS_FUZZ_CHECK(encoded.ok(), "compressing a small body succeeds");
    std::optional<std::string> decoded = encoding == Encoding::kGzip
                                             ? Gunzip(encoded.value())
                                             : Unzstd(encoded.value());
    QS_FUZZ_CHECK(decoded && *decoded == body,
                  "decompressing gives the body back");
    qs::Result<std::string> again = Compress(encoding, body, level);
    QS_FUZZ_CHECK(again.ok() && again.value() == encoded.value(),
                  "the same body and level give the same bytes");
  }
  size_t split = body.empty() ? 0 : selector % (body.size() + 1);
  std::string_view head = body.substr(0, split);
  std::string_view tail = body.substr(split);
  for (Encoding encoding : {Encoding::kGzip, Encoding::kZstd}) {
    qs::Result<qs::CompressedTail> compressed =
        qs::CompressTail(encoding, tail, 1 + selector % 9);
    QS_FUZZ_CHECK(compressed.ok(), "compressing a small tail succeeds");
    std::string joined = qs::JoinHead(head, compressed.value());
    std::optional<std::string> decoded =
        encoding == Encoding::kGzip ? Gunzip(joined) : Unzstd(joined);
    QS_FUZZ_CHECK(decoded && *decoded == body,
                  "a joined head and tail decode to the body");
    if (encoding == Encoding::kZstd) {
      QS_FUZZ_CHECK(
          ZSTD_findFrameCompressedSize(joined.data(), joined.size()) ==
              joined.size(),
          "a joined zstd body is one frame");
    }
  }
  qs::Result<std::string> identity = Compress(Encoding::kIdentity, body, 1);
  QS_FUZZ_CHECK(identity.ok() && identity.value() == body,
                "identity is the body as is");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckChoice(input);
  if (size <= 4096) CheckRoundTrip(input, size > 0 ? data[size - 1] : 0);
  return 0;
}
