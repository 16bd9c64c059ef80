// Header values of a conditional, possibly held, GET: the input is taken in
// turn as an If-None-Match field value, as a Prefer field value, and as the
// representation key of an entity-tag.
//
// Properties: the parsers are total on any bytes. ParseIfNoneMatch gives
// `*` exactly for a value that is `*` between OWS, and otherwise only tags
// of etagc bytes; writing its tags back out as a list parses to the same
// tags; a parsed tag matches itself whether or not either side carries
// W/ (weak comparison). MakeEtag gives W/"<32 of [A-Za-z0-9_-]>", the same
// for the same key, which parses back alone, as part of a list and with
// OWS around it, and matches. ParsePreferWait returns 0..2^31, a value
// only when the input names `wait`; a well-formed `wait=N` put first
// decides, and one put last decides when the input has no `wait` and no
// quote of its own. ClampWaitSeconds stays within 1..max.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/text.h"
#include "fuzz/fuzz_check.h"
#include "api/conditional.h"

namespace {

using qs::api::ClampWaitSeconds;
using qs::api::EntityTag;
using qs::api::IfNoneMatch;
using qs::api::IfNoneMatchMatches;
using qs::api::kMaxPreferWaitSeconds;
using qs::api::MakeEtag;
using qs::api::ParseEntityTag;
using qs::api::ParseIfNoneMatch;
using qs::api::ParsePreferWait;

bool IsEtagc(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x7E) || c >= 0x80;
}

bool IsUrlSafe(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::string Serialize(const EntityTag& tag) {
  return (tag.weak ? "W/\"" : "\"") + tag.opaque + "\"";
}

bool SameTags(const IfNoneMatch& a, const IfNoneMatch& b) {
  if (a.any != b.any || a.tags.size() != b.tags.size()) return false;
  for (size_t i = 0; i < a.tags.size(); ++i) {
    if (a.tags[i].weak != b.tags[i].weak ||
        a.tags[i].opaque != b.tags[i].opaque) {
      return false;
    }
  }
  return true;
}

bool ContainsWaitAnyCase(std::string_view s) {
  for (size_t i = 0; i + 4 <= s.size(); ++i) {
    bool same = true;
    for (size_t k = 0; k < 4 && same; ++k) {
      char c = s[i + k];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = c == "wait"[k];
    }
    if (same) return true;
  }
  return false;
}

void CheckIfNoneMatch(std::string_view header) {
  IfNoneMatch parsed = ParseIfNoneMatch(header);
  QS_FUZZ_CHECK(parsed.any == (qs::TrimBlanks(header) == "*"),
                "* exactly for a value that is * between OWS");
  QS_FUZZ_CHECK(!parsed.any || parsed.tags.empty(), "* carries no tags");
  std::string list;
  for (const EntityTag& tag : parsed.tags) {
    for (unsigned char c : tag.opaque) {
      QS_FUZZ_CHECK(IsEtagc(c), "an opaque-tag holds only etagc bytes");
    }
    QS_FUZZ_CHECK(header.find(Serialize(tag)) != std::string_view::npos,
                  "a parsed tag appears in the header as written");
    // Weak comparison: W/ on either side changes nothing.
    EntityTag other = tag;
    other.weak = !tag.weak;
    QS_FUZZ_CHECK(IfNoneMatchMatches(parsed, Serialize(tag)),
                  "a parsed tag matches itself");
    QS_FUZZ_CHECK(IfNoneMatchMatches(parsed, Serialize(other)),
                  "a parsed tag matches itself with W/ toggled");
    if (!list.empty()) list += ", ";
    list += Serialize(tag);
  }
  if (!parsed.any) {
    QS_FUZZ_CHECK(SameTags(ParseIfNoneMatch(list), parsed),
                  "the tags written back as a list parse to the same tags");
  }
}

void CheckEtag(std::string_view key) {
  std::string etag = MakeEtag(key);
  QS_FUZZ_CHECK(etag.size() == 36 && etag.compare(0, 3, "W/\"") == 0 &&
                    etag.back() == '"',
                "MakeEtag gives W/\"<32 characters>\"");
  for (char c : std::string_view(etag).substr(3, 32)) {
    QS_FUZZ_CHECK(IsUrlSafe(c), "an etag's tag is [A-Za-z0-9_-]");
  }
  QS_FUZZ_CHECK(MakeEtag(std::string(key)) == etag, "MakeEtag is a function");
  std::optional<EntityTag> tag = ParseEntityTag(etag);
  QS_FUZZ_CHECK(tag && tag->weak && Serialize(*tag) == etag,
                "an etag parses back as itself");

  QS_FUZZ_CHECK(IfNoneMatchMatches(ParseIfNoneMatch(etag), etag),
                "an etag matches itself");
  QS_FUZZ_CHECK(IfNoneMatchMatches(ParseIfNoneMatch(" \t" + etag + " "), etag),
                "an etag between OWS matches");
  // In a list after the well-formed tags the input gave, and before others.
  IfNoneMatch parsed = ParseIfNoneMatch(key);
  std::string list;
  for (const EntityTag& t : parsed.tags) list += Serialize(t) + " ,";
  list += etag + ", \"other\",";
  IfNoneMatch with = ParseIfNoneMatch(list);
  QS_FUZZ_CHECK(with.tags.size() == parsed.tags.size() + 2,
                "a list of well-formed tags loses none");
  QS_FUZZ_CHECK(IfNoneMatchMatches(with, etag),
                "an etag in a list of tags matches");
  QS_FUZZ_CHECK(IfNoneMatchMatches(ParseIfNoneMatch(etag.substr(2)), etag),
                "its strong form matches by weak comparison");
}

void CheckPreferWait(std::string_view header, uint32_t n) {
  std::optional<int64_t> wait = ParsePreferWait(header);
  if (wait) {
    QS_FUZZ_CHECK(*wait >= 0 && *wait <= kMaxPreferWaitSeconds,
                  "a wait is 0..2^31");
    QS_FUZZ_CHECK(ContainsWaitAnyCase(header),
                  "a wait comes only from a field naming wait");
  }
  std::string first = "wait=" + std::to_string(n) + ", ";
  first += header;
  QS_FUZZ_CHECK(ParsePreferWait(first) == int64_t{n},
                "a well-formed wait put first decides");
  if (!ContainsWaitAnyCase(header) &&
      header.find('"') == std::string_view::npos) {
    std::string last(header);
    last += ", WAIT = " + std::to_string(n);
    QS_FUZZ_CHECK(ParsePreferWait(last) == int64_t{n},
                  "a wait put last decides when the rest names none");
  }
  int max = static_cast<int>(n % 301);
  int clamped = ClampWaitSeconds(wait.value_or(n), max);
  QS_FUZZ_CHECK(clamped >= 1 && clamped <= (max < 1 ? 1 : max),
                "a clamped wait is 1..max");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  uint32_t n = 0;
  for (size_t i = 0; i < size && i < 4; ++i) n = n * 256 + data[i];
  n &= 0x7fffffff;

  CheckIfNoneMatch(input);
  CheckEtag(input);
  CheckPreferWait(input, n);
  return 0;
}
