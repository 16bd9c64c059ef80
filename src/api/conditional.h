// Validators and preferences of a conditional, possibly held, GET:
// the entity-tag of a representation (RFC 9110 8.8.3), the If-None-Match
// field (RFC 9110 13.1.2) and the `wait` preference of the Prefer field
// (RFC 7240 4.3). Pure code over header values: no I/O, no framework types,
// total on any bytes (it is fuzzed). The caller joins several fields of one
// name with ", " before parsing, as RFC 9110 5.3 allows for list fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qs::api {

// The weak validator of a representation, as the ETag field value:
// W/"<tag>", where <tag> is 32 characters of [A-Za-z0-9_-], the base64url
// (no padding) of the first 192 bits of SHA-256(representation_key).
//
// `representation_key` must cover everything the tag promises to cover
// (for /query/status: the body without meta.request_id, or versions that
// change whenever it does) and nothing that differs between instances,
// processes, clocks or content codings: the same key gives the same tag
// everywhere, forever (changing this function changes every tag, which
// costs clients one full answer each, nothing worse).
std::string MakeEtag(std::string_view representation_key);

// One entity-tag: `W/` (case-sensitive, as RFC 9110 writes it) then a
// quoted opaque-tag whose bytes are etagc (%x21 / %x23-7E / %x80-FF; no
// space, no DQUOTE, no control byte, no escaping).
struct EntityTag {
  bool weak = false;
  std::string opaque;  // the bytes between the quotes
};

// Parses exactly one entity-tag (no surrounding blanks), or nullopt.
std::optional<EntityTag> ParseEntityTag(std::string_view text);

// A parsed If-None-Match field value.
struct IfNoneMatch {
  // The field value was `*` (matches any current representation).
  bool any = false;
  // The well-formed entity-tags of the list, in order (duplicates kept).
  std::vector<EntityTag> tags;
};

// Parses an If-None-Match field value. Never fails; what it does:
// - OWS (space, tab) around the value and around each list element is
//   skipped, and so are empty list elements (`, ,"a",`).
// - `*` counts only as the whole field value (OWS around it allowed). A `*`
//   among other elements is malformed (the grammar is "*" / #entity-tag).
// - Commas inside a quoted opaque-tag belong to the tag (etagc includes
//   the comma): elements are read tag by tag, not by splitting at commas.
// - A malformed element (one that does not start with `"` or `W/"`, holds a
//   byte that is not etagc, lacks its closing quote, or has anything but
//   OWS between its closing quote and the next comma) is ignored: parsing
//   resumes after the next comma at or after the byte where the element
//   went wrong. An ignored element matches nothing, so the worst a
//   malformed field can cause is a full 200 answer instead of a 304.
IfNoneMatch ParseIfNoneMatch(std::string_view header);

// Whether `parsed` matches the current representation, whose ETag field
// value is `current_etag` (as MakeEtag gives it), by the WEAK comparison of
// RFC 9110 8.8.3.2: opaque-tags equal byte for byte, W/ ignored on both
// sides. `*` matches whatever `current_etag` is (a current representation
// exists whenever the caller asks). A `current_etag` that is not an
// entity-tag matches no listed tag.
bool IfNoneMatchMatches(const IfNoneMatch& parsed,
                        std::string_view current_etag);

// The largest wait ParsePreferWait returns: 2^31 seconds. A longer
// delta-seconds is taken as this value (the rule of RFC 9111 1.2.2 for
// delta-seconds a recipient cannot represent), not refused.
inline constexpr int64_t kMaxPreferWaitSeconds = int64_t{1} << 31;

// The seconds of the `wait` preference (RFC 7240 4.3) in a Prefer field
// value, or nullopt when there is none or it is invalid. What it does:
// - The value is a comma-separated list of preferences, each
//   `token [BWS "=" BWS word] *( OWS ";" [ OWS parameter ] )`, a word being
//   a token or a quoted-string (with quoted-pairs); commas inside a
//   quoted-string do not separate preferences. Empty elements are skipped.
// - An element that does not match that grammar is ignored as a whole
//   (RFC 7240 2: unknown or malformed preferences are ignored).
// - Names compare case-insensitively. Only the first well-formed `wait`
//   preference is considered (RFC 7240 2: later instances SHOULD be
//   ignored), even when its value is invalid.
// - Its value (the token, or the content of the quoted-string) must be
//   delta-seconds, 1*DIGIT: `wait=0` gives 0; `wait`, `wait=`, `wait=""`,
//   `wait=-1`, `wait=1.5`, `wait=5s` give nullopt. Parameters after it
//   (`wait=5;foo`) are allowed and ignored. Values above 2^31 give 2^31.
std::optional<int64_t> ParsePreferWait(std::string_view prefer_header);

// The wait actually allowed for a requested one: `requested` clamped to
// 1..max_wait_seconds (max_wait_seconds below 1 counts as 1). `wait=0`
// therefore holds for one second; a caller that would rather answer at
// once must test for 0 before calling.
int ClampWaitSeconds(int64_t requested, int max_wait_seconds);

}  // namespace qs::api
