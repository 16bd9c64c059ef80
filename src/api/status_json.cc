#include "api/status_json.h"

#include <charconv>

#include "api/conditional.h"
#include "common/json_string.h"
#include "common/sha256.h"

namespace qs::api {
namespace {

void AppendInt(std::string& out, int64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;  // 24 bytes always hold an int64_t
  out.append(buf, end);
}

void AppendOptionalString(std::string& out,
                          const std::optional<std::string>& s) {
  if (s) {
    AppendJsonString(out, *s);
  } else {
    out += "null";
  }
}

void AppendHead(std::string& s, std::string_view request_id) {
  s += "{\"meta\":{\"request_id\":";
  AppendJsonString(s, request_id);
}

// The bytes the tail of `v` takes, near enough to reserve them.
size_t TailCapacity(const StatusView& v) {
  const bool success = v.status == QueryStatusCode::kSuccess;
  size_t links_size = 0;
  if (success && v.links != nullptr) {
    links_size = (v.links->prev ? v.links->prev->size() : 0) +
                 (v.links->next ? v.links->next->size() : 0);
  }
  return 300 + v.schedule_id.size() + links_size +
         (success ? v.rows_json.size() : 0);
}

void AppendTail(std::string& s, const StatusView& v) {
  const bool success = v.status == QueryStatusCode::kSuccess;
  s += ",\"schedule_id\":";
  AppendJsonString(s, v.schedule_id);
  s += ",\"status_code\":\"";
  s += QueryStatusName(v.status);
  s += "\",\"progress\":{\"queries_ready\":";
  AppendInt(s, v.queries_ready);
  s += ",\"queries_total\":";
  AppendInt(s, v.queries_total);
  s += "},\"workflow\":{\"tasks_scheduled\":";
  AppendInt(s, v.tasks_scheduled);
  s += ",\"tasks_running\":";
  AppendInt(s, v.tasks_running);
  s += '}';
  if (success) {
    s += ",\"result\":{\"total_rows\":";
    AppendInt(s, v.total_rows);
    s += "},\"paginate\":{\"prev\":";
    if (v.links != nullptr) {
      AppendOptionalString(s, v.links->prev);
      s += ",\"next\":";
      AppendOptionalString(s, v.links->next);
    } else {
      s += "null,\"next\":null";
    }
    s += '}';
  }
  s += "},\"data\":[";
  if (success) s += v.rows_json;
  s += "]}";
}

}  // namespace

void RenderStatusBody(const StatusView& v, std::string* out) {
  out->clear();
  out->reserve(32 + v.request_id.size() + TailCapacity(v));
  AppendHead(*out, v.request_id);
  AppendTail(*out, v);
}

void RenderStatusHead(std::string_view request_id, std::string* out) {
  out->clear();
  AppendHead(*out, request_id);
}

void RenderStatusTail(const StatusView& v, std::string* out) {
  out->clear();
  out->reserve(TailCapacity(v));
  AppendTail(*out, v);
}

std::string RenderStatusEtag(const StatusView& v,
                             std::string_view rows_digest) {
  std::string computed;
  if (rows_digest.empty() && !v.rows_json.empty()) {
    computed = Sha256Hex(v.rows_json);
    rows_digest = computed;
  }
  StatusView key = v;
  key.request_id = {};
  key.rows_json = rows_digest;
  std::string text;
  RenderStatusBody(key, &text);
  return MakeEtag(text);
}

std::string RenderNotFoundBody() { return "{\"error\":\"STATUS_NOT_FOUND\"}"; }

std::string RenderProblemBody(const Problem& p) {
  std::string s;
  s.reserve(64 + p.type.size() + p.title.size() + p.detail.size() +
            p.instance.size());
  s += "{\"type\":";
  AppendJsonString(s, p.type);
  s += ",\"title\":";
  AppendJsonString(s, p.title);
  s += ",\"status\":";
  AppendInt(s, p.status);
  s += ",\"detail\":";
  AppendJsonString(s, p.detail);
  if (!p.instance.empty()) {
    s += ",\"instance\":";
    AppendJsonString(s, p.instance);
  }
  s += '}';
  return s;
}

}  // namespace qs::api
