#include "ratelimit/redis_reply.h"

#include <hiredis/hiredis.h>

#include "common/ascii.h"
#include "common/text.h"

namespace qs::ratelimit {
namespace {

// ParseDecimal into an int: every bound here fits one.
bool ParseBounded(std::string_view s, size_t max_digits, int lo, int hi,
                  int* out) {
  int64_t v;
  if (!ParseDecimal(s, max_digits, lo, hi, &v)) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

bool ParseRedirect(std::string_view text, ReplyKind* kind, int* slot,
                   std::string* host, int* port) {
  std::string_view rest;
  if (StartsWith(text, "MOVED ")) {
    *kind = ReplyKind::kMoved;
    rest = text.substr(6);
  } else if (StartsWith(text, "ASK ")) {
    *kind = ReplyKind::kAsk;
    rest = text.substr(4);
  } else {
    return false;
  }
  size_t space = rest.find(' ');
  if (space == std::string_view::npos) return false;
  if (!ParseBounded(rest.substr(0, space), 5, 0, 16383, slot)) return false;
  std::string_view address = rest.substr(space + 1);
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!ParseBounded(address.substr(colon + 1), 5, 1, 65535, port)) {
    return false;
  }
  std::string_view h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  if (h.empty() || h.size() > 255) return false;
  for (char c : h) {
    bool ok = ascii::IsAlnum(c) || c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) return false;
  }
  host->assign(h);
  return true;
}

ClassifiedReply ClassifyReply(const redisReply& r) {
  ClassifiedReply out;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.kind = ReplyKind::kInteger;
      out.integer = static_cast<int64_t>(r.integer);
      return out;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.kind = ReplyKind::kString;
      if (r.str != nullptr) out.text.assign(r.str, r.len);
      return out;
    case REDIS_REPLY_ERROR:
      break;
    default:
      out.kind = ReplyKind::kUnexpected;
      return out;
  }
  if (r.str != nullptr) out.text.assign(r.str, r.len);
  const std::string_view text = out.text;
  if (StartsWith(text, "NOSCRIPT")) {
    out.kind = ReplyKind::kNoScript;
  } else if (StartsWith(text, "MOVED ") || StartsWith(text, "ASK ")) {
    if (!ParseRedirect(text, &out.kind, &out.slot, &out.host, &out.port)) {
      out.kind = ReplyKind::kError;
      out.slot = -1;
      out.host.clear();
      out.port = 0;
    }
  } else if (StartsWith(text, "READONLY")) {
    out.kind = ReplyKind::kReadOnly;
  } else if (StartsWith(text, "TRYAGAIN") || StartsWith(text, "CLUSTERDOWN")) {
    out.kind = ReplyKind::kTryAgain;
  } else {
    out.kind = ReplyKind::kError;
  }
  return out;
}

}  // namespace qs::ratelimit
