#include "api/pagination.h"

#include <algorithm>

#include "api/url_codec.h"
#include "common/json_string.h"

namespace qs::api {
namespace {

std::string PageLink(std::string_view base, const std::string& schedule_id,
                     int64_t offset_start, int64_t offset_end) {
  std::string json;
  json.reserve(96 + schedule_id.size());
  json += "{\"schedule_id\":";
  // schedule_id is [A-Za-z0-9_-]; escaping keeps the link valid JSON even if
  // a caller ever builds a StatusRequest by hand.
  AppendJsonString(json, schedule_id);
  json += ",\"offset_start\":";
  json += std::to_string(offset_start);
  json += ",\"offset_end\":";
  json += std::to_string(offset_end);
  json += '}';

  std::string link;
  link.reserve(base.size() + 20 + json.size() * 3);
  link += base;
  link += "/query/status?json=";
  link += PercentEncode(json);
  return link;
}

}  // namespace

PageLinks BuildPageLinks(const StatusRequest& request, int64_t total_rows,
                         std::string_view public_base_url) {
  while (!public_base_url.empty() && public_base_url.back() == '/') {
    public_base_url.remove_suffix(1);
  }
  const RowRange range = EffectiveRange(request);
  const int64_t size = range.size();

  PageLinks links;
  if (range.first > 0) {
    links.prev =
        PageLink(public_base_url, request.schedule_id,
                 std::max<int64_t>(0, range.first - size), range.first - 1);
  }
  if (range.last + 1 < total_rows && range.last + 1 <= kMaxOffset) {
    links.next = PageLink(public_base_url, request.schedule_id, range.last + 1,
                          std::min(range.last + size, kMaxOffset));
  }
  return links;
}

}  // namespace qs::api
