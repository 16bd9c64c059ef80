#include "api/conditional.h"

#include <cstddef>

#include "common/sha256.h"
#include "common/ascii.h"
#include "common/text.h"
#include "common/header_syntax.h"

namespace qs::api {
namespace {

// etagc = %x21 / %x23-7E / obs-text
bool IsEtagc(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return c == 0x21 || (c >= 0x23 && c <= 0x7E) || c >= 0x80;
}

// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
bool IsQdtext(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) ||
         (c >= 0x5D && c <= 0x7E) || c >= 0x80;
}

// The byte a quoted-pair may escape: HTAB / SP / VCHAR / obs-text.
bool IsQuotedPairByte(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return c == '\t' || (c >= 0x20 && c != 0x7F);
}

// Splits a Prefer field value at the commas outside quoted-strings. An
// unterminated quoted-string runs to the end (and makes its element
// malformed).
std::vector<std::string_view> SplitPreferences(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;  // the escaped byte, whatever it is, is not a delimiter
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

// A cursor over one preference element.
class PreferenceReader {
 public:
  explicit PreferenceReader(std::string_view s) : s_(s) {}

  bool AtEnd() const { return p_ >= s_.size(); }
  char Peek() const { return s_[p_]; }
  void Advance() { ++p_; }
  void SkipOws() {
    while (!AtEnd() && IsOws(Peek())) ++p_;
  }

  // 1*tchar, or an empty view when none is there.
  std::string_view Token() {
    size_t start = p_;
    while (!AtEnd() && IsTchar(Peek())) ++p_;
    return s_.substr(start, p_ - start);
  }

  // A word (token / quoted-string), its quoted-string unquoted; an empty
  // string when neither is there. False on a malformed quoted-string.
  bool Word(std::string* out) {
    out->clear();
    if (AtEnd() || Peek() != '"') {
      *out = std::string(Token());
      return true;
    }
    ++p_;
    while (!AtEnd()) {
      char c = Peek();
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        if (p_ + 1 >= s_.size() || !IsQuotedPairByte(s_[p_ + 1])) return false;
        out->push_back(s_[p_ + 1]);
        p_ += 2;
        continue;
      }
      if (!IsQdtext(c)) return false;
      out->push_back(c);
      ++p_;
    }
    return false;  // no closing quote
  }

  // [ BWS "=" BWS word ]: leaves the cursor where it was when there is no
  // "=". `value` is nullopt without "=", and empty for `name=` (RFC 7240 2:
  // an empty value is the same as none).
  bool OptionalValue(std::optional<std::string>* value) {
    value->reset();
    size_t before = p_;
    SkipOws();
    if (AtEnd() || Peek() != '=') {
      p_ = before;
      return true;
    }
    ++p_;
    SkipOws();
    std::string word;
    if (!Word(&word)) return false;
    *value = std::move(word);
    return true;
  }

 private:
  std::string_view s_;
  size_t p_ = 0;
};

struct Preference {
  std::string_view name;
  std::optional<std::string> value;
};

// One preference element, per RFC 7240 2, or nullopt when it is malformed.
// Parameters are checked for form and dropped: no caller needs them.
std::optional<Preference> ParsePreference(std::string_view element) {
  PreferenceReader r(element);
  Preference pref;
  pref.name = r.Token();
  if (pref.name.empty()) return std::nullopt;
  if (!r.OptionalValue(&pref.value)) return std::nullopt;
  while (true) {
    r.SkipOws();
    if (r.AtEnd()) return pref;
    if (r.Peek() != ';') return std::nullopt;
    r.Advance();
    r.SkipOws();
    if (r.AtEnd() || r.Peek() == ';') continue;  // [ OWS parameter ]
    if (r.Token().empty()) return std::nullopt;
    std::optional<std::string> ignored;
    if (!r.OptionalValue(&ignored)) return std::nullopt;
  }
}

// delta-seconds = 1*DIGIT, saturating at 2^31.
std::optional<int64_t> ParseDeltaSeconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t n = 0;
  for (char c : s) {
    if (!ascii::IsDigit(c)) return std::nullopt;
    if (n < kMaxPreferWaitSeconds) n = n * 10 + (c - '0');
  }
  return n < kMaxPreferWaitSeconds ? n : kMaxPreferWaitSeconds;
}

}  // namespace

std::string MakeEtag(std::string_view representation_key) {
  constexpr size_t kDigestBytes = 24;  // 192 bits: 32 base64url characters
  std::string hex = Sha256Hex(representation_key);
  unsigned char bytes[kDigestBytes];
  for (size_t i = 0; i < kDigestBytes; ++i) {
    bytes[i] =
        static_cast<unsigned char>(ascii::HexDigitValue(hex[2 * i]) * 16 +
                                   ascii::HexDigitValue(hex[2 * i + 1]));
  }
  std::string tag = "W/\"";
  tag += Base64UrlEncode(bytes, kDigestBytes);
  tag.push_back('"');
  return tag;
}

std::optional<EntityTag> ParseEntityTag(std::string_view text) {
  EntityTag tag;
  if (text.substr(0, 2) == "W/") {
    tag.weak = true;
    text.remove_prefix(2);
  }
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') {
    return std::nullopt;
  }
  std::string_view opaque = text.substr(1, text.size() - 2);
  for (char c : opaque) {
    if (!IsEtagc(c)) return std::nullopt;
  }
  tag.opaque = std::string(opaque);
  return tag;
}

IfNoneMatch ParseIfNoneMatch(std::string_view header) {
  IfNoneMatch result;
  if (TrimOws(header) == "*") {
    result.any = true;
    return result;
  }
  const size_t n = header.size();
  size_t i = 0;
  while (i < n) {
    while (i < n && (IsOws(header[i]) || header[i] == ',')) ++i;
    if (i >= n) break;

    // Reads one element from i; on success pushes it and leaves i at the
    // comma or the end; on failure sets `bad` to the offending byte.
    size_t j = i;
    size_t bad = std::string_view::npos;
    EntityTag tag;
    if (header.compare(j, 2, "W/") == 0) {
      tag.weak = true;
      j += 2;
    }
    if (j >= n || header[j] != '"') {
      bad = j;
    } else {
      size_t open = ++j;
      while (j < n && IsEtagc(header[j])) ++j;
      if (j >= n || header[j] != '"') {
        bad = j;
      } else {
        tag.opaque = std::string(header.substr(open, j - open));
        ++j;
        while (j < n && IsOws(header[j])) ++j;
        if (j < n && header[j] != ',') bad = j;
      }
    }

    if (bad == std::string_view::npos) {
      result.tags.push_back(std::move(tag));
      i = j;
    } else {
      size_t comma = bad < n ? header.find(',', bad) : std::string_view::npos;
      i = comma == std::string_view::npos ? n : comma + 1;
    }
  }
  return result;
}

bool IfNoneMatchMatches(const IfNoneMatch& parsed,
                        std::string_view current_etag) {
  if (parsed.any) return true;
  std::optional<EntityTag> current = ParseEntityTag(current_etag);
  if (!current) return false;
  for (const EntityTag& tag : parsed.tags) {
    if (tag.opaque == current->opaque) return true;
  }
  return false;
}

std::optional<int64_t> ParsePreferWait(std::string_view prefer_header) {
  for (std::string_view element : SplitPreferences(prefer_header)) {
    element = TrimOws(element);
    if (element.empty()) continue;
    std::optional<Preference> pref = ParsePreference(element);
    if (!pref || !EqualsIgnoreCase(pref->name, "wait")) continue;
    // The first well-formed wait decides, valid or not.
    if (!pref->value) return std::nullopt;
    return ParseDeltaSeconds(*pref->value);
  }
  return std::nullopt;
}

int ClampWaitSeconds(int64_t requested, int max_wait_seconds) {
  if (max_wait_seconds < 1) max_wait_seconds = 1;
  if (requested < 1) return 1;
  if (requested > max_wait_seconds) return max_wait_seconds;
  return static_cast<int>(requested);
}

}  // namespace qs::api
