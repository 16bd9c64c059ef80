#include "log/log.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace qs::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_out_mu;

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void AppendTimestamp(std::string& out) {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                now.time_since_epoch())
                .count() %
            1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out += '"';
  out += buf;
  out += '"';
}

bool ParseLevel(std::string_view name, Level* out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (name == LevelName(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

void SetLevel(Level level) { g_level.store(static_cast<int>(level)); }

bool Enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void AppendJsonString(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void Event(Level level, std::string_view event,
           std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line;
  line.reserve(128);
  line += "{\"ts\":";
  AppendTimestamp(line);
  line += ",\"level\":\"";
  line += LevelName(level);
  line += "\",\"event\":";
  AppendJsonString(line, event);
  for (const auto& [k, v] : fields) {
    line += ',';
    AppendJsonString(line, k);
    line += ':';
    AppendJsonString(line, v);
  }
  line += '}';
  Line(line);
}

void Line(std::string_view json) {
  std::lock_guard<std::mutex> lock(g_out_mu);
  std::fwrite(json.data(), 1, json.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

namespace {

// Keywords whose values are secrets, in a conninfo string or a URI query.
bool IsSecretKeyword(std::string_view key) {
  return key == "password" || key == "sslpassword";
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A query keyword as libpq reads it: percent-decoded.
std::string DecodeKeyword(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && HexDigit(in[i + 1]) >= 0 &&
        HexDigit(in[i + 2]) >= 0) {
      out += static_cast<char>(HexDigit(in[i + 1]) * 16 + HexDigit(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// Whether `url` starts with a URI scheme and "://" (libpq takes a string for
// a URI only then; anything else is a conninfo string).
size_t SchemeLength(std::string_view url) {
  size_t i = 0;
  while (i < url.size() && (std::isalnum(static_cast<unsigned char>(url[i])) ||
                            url[i] == '+' || url[i] == '.' || url[i] == '-')) {
    ++i;
  }
  if (i == 0 || !std::isalpha(static_cast<unsigned char>(url[0])) ||
      url.substr(i, 3) != "://") {
    return std::string_view::npos;
  }
  return i + 3;
}

std::string RedactUri(std::string_view url, size_t authority_start) {
  std::string out(url);
  // The credentials end at the last '@' before the path (the Redis URL parser
  // reads it so; libpq reads the first, inside what is redacted here).
  size_t path = out.find('/', authority_start);
  std::string_view authority =
      std::string_view(out).substr(authority_start, path - authority_start);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    size_t colon = authority.substr(0, at).find(':');
    if (colon != std::string_view::npos) {
      out.replace(authority_start + colon + 1, at - colon - 1, "***");
    }
  }
  // libpq also takes any connection keyword as a query parameter.
  size_t query = out.find('?', authority_start);
  if (query == std::string::npos) return out;
  size_t pos = query + 1;
  while (pos <= out.size()) {
    size_t amp = out.find('&', pos);
    if (amp == std::string::npos) amp = out.size();
    size_t eq = out.find('=', pos);
    if (eq < amp && IsSecretKeyword(DecodeKeyword(
                        std::string_view(out).substr(pos, eq - pos)))) {
      out.replace(eq + 1, amp - eq - 1, "***");
      amp = eq + 4;
    }
    pos = amp + 1;
  }
  return out;
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)); }

// A conninfo string, tokenized as libpq does: keyword, optional blanks, '=',
// optional blanks, then a value in single quotes (backslash escapes) or up to
// the next blank (backslash escapes too).
std::string RedactConninfo(std::string_view in) {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    size_t key_start = i;
    while (i < in.size() && IsSpace(in[i])) ++i;
    size_t key_begin = i;
    while (i < in.size() && !IsSpace(in[i]) && in[i] != '=') ++i;
    std::string_view key = in.substr(key_begin, i - key_begin);
    while (i < in.size() && IsSpace(in[i])) ++i;
    if (i == in.size() && key.empty()) {
      out += in.substr(key_start);  // trailing blanks
      break;
    }
    if (i == in.size() || in[i] != '=') {
      // Not conninfo from here on, so libpq would refuse the whole string;
      // if a secret's name is in what is left, keep none of it.
      std::string_view rest = in.substr(key_start);
      out += rest.find("password") == std::string_view::npos ? std::string(rest)
                                                             : " ***";
      break;
    }
    ++i;  // '='
    while (i < in.size() && IsSpace(in[i])) ++i;
    size_t value_begin = i;
    if (i < in.size() && in[i] == '\'') {
      for (++i; i < in.size() && in[i] != '\''; ++i) {
        if (in[i] == '\\') ++i;
      }
      if (i < in.size()) ++i;  // the closing quote
    } else {
      for (; i < in.size() && !IsSpace(in[i]); ++i) {
        if (in[i] == '\\') ++i;
      }
    }
    i = std::min(i, in.size());
    out += in.substr(key_start, value_begin - key_start);
    out += IsSecretKeyword(key) ? std::string_view("***")
                                : in.substr(value_begin, i - value_begin);
  }
  return out;
}

}  // namespace

std::string RedactUrl(std::string_view url) {
  size_t authority_start = SchemeLength(url);
  if (authority_start == std::string_view::npos) return RedactConninfo(url);
  return RedactUri(url, authority_start);
}

}  // namespace qs::log
