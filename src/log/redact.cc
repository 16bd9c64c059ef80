#include "log/redact.h"

#include <libpq-fe.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "common/ascii.h"
#include "common/text.h"

namespace qs::log {
namespace {

// Lenient: a '%' not followed by two hex digits is kept as it is, so that a
// malformed value still decodes to something to compare and to hide.
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && ascii::IsHexDigit(s[i + 1]) &&
        ascii::IsHexDigit(s[i + 2])) {
      out += static_cast<char>(ascii::HexDigitValue(s[i + 1]) * 16 +
                               ascii::HexDigitValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). A conninfo string
// whose value holds "://" does not start with one ("host=h password=a://b").
bool IsScheme(std::string_view s) {
  if (s.empty() || !ascii::IsAlpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return ascii::IsAlnum(c) || c == '+' || c == '-' || c == '.';
  });
}

// A dbname that libpq could expand into connection options of its own.
bool LooksLikeConnectionString(std::string_view s) {
  return s.find('=') != std::string_view::npos || IsLibpqUri(s);
}

// Remembers a hidden value for RedactSecrets in the forms a text may quote
// it: as written, percent-decoded, with a conninfo string's backslash
// escapes, and its longer words (a message may quote a part).
void Remember(std::string_view raw, std::vector<std::string>* secrets) {
  if (secrets == nullptr || raw.empty()) return;
  secrets->emplace_back(raw);
  std::string decoded = PercentDecode(raw);
  std::string escaped;
  for (char c : decoded) {
    if (c == '\'' || c == '\\') escaped += '\\';
    escaped += c;
  }
  std::string word;
  for (char c : decoded + ' ') {
    if (ascii::IsSpace(c) || c == '\'' || c == '\\' || c == '"') {
      if (word.size() >= 4 && word != decoded) secrets->push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  if (escaped != raw) secrets->push_back(std::move(escaped));
  if (decoded != raw) secrets->push_back(std::move(decoded));
}

// In libpq's keyword order.
using Options = std::vector<std::pair<std::string, std::string>>;

// The options libpq reads from `conninfo` (only those given), or nothing if
// libpq refuses it. libpq's error text is dropped unread: it can quote the
// part it choked on, which may be a password.
std::optional<Options> ParseWithLibpq(std::string_view conninfo) {
  char* errmsg = nullptr;
  PQconninfoOption* opts =
      PQconninfoParse(std::string(conninfo).c_str(), &errmsg);
  if (errmsg != nullptr) PQfreemem(errmsg);
  if (opts == nullptr) return std::nullopt;
  Options out;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) out.emplace_back(o->keyword, o->val);
  }
  PQconninfoFree(opts);
  return out;
}

std::string Redact(std::string_view url, std::vector<std::string>* secrets,
                   int depth = 0);

// A value for a conninfo string: bare if libpq reads it back unchanged,
// otherwise single-quoted with ' and \ escaped.
void AppendConninfoValue(std::string& out, std::string_view v) {
  bool bare = !v.empty() && std::none_of(v.begin(), v.end(), [](char c) {
    return ascii::IsSpace(c) || c == '\'' || c == '\\';
  });
  if (bare) {
    out += v;
    return;
  }
  out += '\'';
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
}

// `depth`: how many dbname values this conninfo is nested in. libpq expands
// a connection string given as dbname once, never one inside that; so a
// nested one is not read further but hidden whole (reading each level
// quotes the one inside it again, which doubled the text per level).
std::optional<std::string> RedactConninfo(std::string_view conninfo,
                                          std::vector<std::string>* secrets,
                                          int depth) {
  std::optional<Options> opts = ParseWithLibpq(conninfo);
  if (!opts) return std::nullopt;
  std::string out;
  for (const auto& [key, value] : *opts) {
    if (!out.empty()) out += ' ';
    out += key;
    out += '=';
    if (IsSensitiveKey(key)) {
      Remember(value, secrets);
      out += kRedacted;
    } else if (key == "dbname" && LooksLikeConnectionString(value)) {
      if (depth == 0) {
        AppendConninfoValue(out, Redact(value, secrets, depth + 1));
      } else {
        Remember(value, secrets);
        out += kRedacted;
      }
    } else {
      AppendConninfoValue(out, value);
    }
  }
  return out;
}

// The query of a URI, item by item: a sensitive key's value hidden, an item
// that is not key=value hidden whole.
std::string RedactQuery(std::string_view query, bool postgres,
                        std::vector<std::string>* secrets) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t amp = query.find('&', start);
    std::string_view item =
        query.substr(start, amp == std::string_view::npos ? amp : amp - start);
    size_t eq = item.find('=');
    if (item.empty()) {
      // nothing to hide
    } else if (eq == std::string_view::npos) {
      Remember(item, secrets);
      out += kRedacted;
    } else {
      std::string key = PercentDecode(item.substr(0, eq));
      std::string_view value = item.substr(eq + 1);
      out += item.substr(0, eq + 1);
      if (IsSensitiveKey(key) ||
          (postgres && key == "dbname" &&
           LooksLikeConnectionString(PercentDecode(value)))) {
        Remember(value, secrets);
        out += kRedacted;
      } else {
        out += value;
      }
    }
    if (amp == std::string_view::npos) break;
    out += '&';
    start = amp + 1;
  }
  return out;
}

// scheme://[userinfo@]hosts[/path][?query], read textually. The userinfo
// ends at the last '@': a password with a raw '@', '/' or '?' is hidden
// whole, at the cost of hiding a host that follows an '@' in the query.
std::string RedactUri(std::string_view scheme, std::string_view rest,
                      std::vector<std::string>* secrets) {
  std::string lower_scheme = AsciiLower(scheme);
  bool postgres = lower_scheme == "postgresql" || lower_scheme == "postgres";
  std::string out(scheme);
  out += "://";
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      out += userinfo.substr(0, colon + 1);
      out += kRedacted;
      Remember(userinfo.substr(colon + 1), secrets);
    } else if (postgres) {
      out += userinfo;  // a user name alone
    } else {
      // Redis clients read a lone userinfo as the password.
      out += kRedacted;
      Remember(userinfo, secrets);
    }
    out += '@';
    rest = rest.substr(at + 1);
  }
  size_t q = rest.find('?');
  std::string_view hostpath = rest.substr(0, q);
  size_t slash = hostpath.find('/');
  if (postgres && slash != std::string_view::npos &&
      LooksLikeConnectionString(PercentDecode(hostpath.substr(slash + 1)))) {
    out += hostpath.substr(0, slash + 1);
    out += kRedacted;
    Remember(hostpath.substr(slash + 1), secrets);
  } else {
    out += hostpath;
  }
  if (q != std::string_view::npos) {
    out += '?';
    out += RedactQuery(rest.substr(q + 1), postgres, secrets);
  }
  return out;
}

// Whether `url` is read as scheme://..., not as a conninfo string.
bool HasScheme(std::string_view url) {
  size_t sep = url.find("://");
  return sep != std::string_view::npos && IsScheme(url.substr(0, sep));
}

std::string Redact(std::string_view url, std::vector<std::string>* secrets,
                   int depth) {
  if (HasScheme(url)) {
    size_t sep = url.find("://");
    return RedactUri(url.substr(0, sep), url.substr(sep + 3), secrets);
  }
  if (std::optional<std::string> conninfo =
          RedactConninfo(url, secrets, depth)) {
    return *std::move(conninfo);
  }
  Remember(url, secrets);
  return std::string(kRedacted);
}

void ReplaceAll(std::string& s, std::string_view needle) {
  if (needle.empty()) return;
  for (size_t p = s.find(needle); p != std::string::npos;
       p = s.find(needle, p + kRedacted.size())) {
    s.replace(p, needle.size(), kRedacted);
  }
}

// Every "quoted" fragment's content replaced.
void HideQuoted(std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t open = s.find('"', i);
    size_t close = open == std::string::npos ? open : s.find('"', open + 1);
    if (close == std::string::npos) {
      out += s.substr(i);
      break;
    }
    out += s.substr(i, open + 1 - i);
    out += kRedacted;
    out += '"';
    i = close + 1;
  }
  s = std::move(out);
}

const std::set<std::string>& LibpqKeywords() {
  static const std::set<std::string> kKeywords = [] {
    std::set<std::string> k{"postgresql", "postgres"};
    if (PQconninfoOption* opts = PQconndefaults()) {
      for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
        k.insert(o->keyword);
      }
      PQconninfoFree(opts);
    }
    return k;
  }();
  return kKeywords;
}

// The words of a connection string, short ones and libpq keywords aside.
std::vector<std::string> Words(std::string_view url) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (word.size() >= 3 && LibpqKeywords().count(word) == 0) {
      words.push_back(word);
    }
    word.clear();
  };
  for (char c : url) {
    if (ascii::IsSpace(c) ||
        std::string_view("='\":@/?&,\\").find(c) != std::string_view::npos) {
      flush();
    } else {
      word += c;
    }
  }
  flush();
  return words;
}

}  // namespace

bool IsLibpqUri(std::string_view conninfo) {
  return StartsWith(conninfo, "postgresql://") ||
         StartsWith(conninfo, "postgres://");
}

bool IsSensitiveKey(std::string_view key) {
  std::string k = AsciiLower(key);
  for (std::string_view marker :
       {"pass", "pwd", "secret", "token", "credential"}) {
    if (k.find(marker) != std::string::npos) return true;
  }
  return false;
}

std::string RedactUrl(std::string_view url) { return Redact(url, nullptr); }

bool IsSafelyRedactable(std::string_view conninfo) {
  std::optional<Options> parsed = ParseWithLibpq(conninfo);
  if (!parsed) return false;
  std::optional<Options> parsed_redacted = ParseWithLibpq(RedactUrl(conninfo));
  if (!parsed_redacted) return false;
  std::map<std::string, std::string> original(parsed->begin(), parsed->end());
  std::map<std::string, std::string> redacted(parsed_redacted->begin(),
                                              parsed_redacted->end());
  std::set<std::string> keys;
  for (const auto& kv : original) keys.insert(kv.first);
  for (const auto& kv : redacted) keys.insert(kv.first);
  for (const std::string& key : keys) {
    auto o = original.find(key);
    auto r = redacted.find(key);
    bool has_o = o != original.end();
    bool has_r = r != redacted.end();
    if (IsSensitiveKey(key)) {
      // Either absent from both, or hidden.
      if (has_o && !(has_r && r->second == kRedacted)) return false;
      continue;
    }
    if (has_o != has_r) return false;
    // Equal, or hidden in part (a dbname that is a connection string).
    if (has_o && o->second != r->second &&
        r->second.find(kRedacted) == std::string::npos) {
      return false;
    }
  }
  return true;
}

std::string RedactSecrets(std::string_view text, std::string_view url) {
  std::vector<std::string> secrets;
  Redact(url, &secrets);
  bool postgres = IsLibpqUri(url) || !HasScheme(url);
  bool certain = !postgres || IsSafelyRedactable(url);
  if (!certain) {
    // What libpq reads as a password may be any part of it.
    std::optional<Options> opts = ParseWithLibpq(url);
    if (opts) {
      for (const auto& kv : *opts) Remember(kv.second, &secrets);
    }
    for (std::string& w : Words(url)) secrets.push_back(std::move(w));
  }
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) {
              return a.size() > b.size();
            });
  std::string out(text);
  if (!certain) HideQuoted(out);
  for (const std::string& s : secrets) ReplaceAll(out, s);
  return out;
}

}  // namespace qs::log
