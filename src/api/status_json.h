// Response bodies of GET /query/status, rendered straight into a string (no
// DOM): this runs on every request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/pagination.h"
#include "common/query_status.h"

namespace qs::api {

// What a 200 body shows. Views must outlive the RenderStatusBody call.
struct StatusView {
  std::string_view request_id;
  std::string_view schedule_id;
  QueryStatusCode status;
  int32_t queries_ready;
  int32_t queries_total;
  int32_t tasks_scheduled;
  int32_t tasks_running;
  int64_t total_rows;
  // The page's rows, each already a serialised JSON object, comma-joined
  // ("{...},{...}"), or empty. Inserted verbatim: the caller vouches for it.
  std::string_view rows_json;
  // The paginate links; null renders both as null. Used for SUCCESS only.
  const PageLinks* links;
};

// Replaces *out with the 200 body:
// {"meta":{"request_id":..,"schedule_id":..,"status_code":..,
//   "progress":{"queries_ready":N,"queries_total":N},
//   "workflow":{"tasks_scheduled":N,"tasks_running":N}},"data":[]}
// For SUCCESS only, meta also ends with "result":{"total_rows":N} and
// "paginate":{"prev":..,"next":..} (a string or null each), and data is
// "[" + rows_json + "]". Other statuses leave result and paginate out (the
// official SDK fails on a null paginate object) and have "data":[].
void RenderStatusBody(const StatusView& v, std::string* out);

// The same body in two parts, head + tail == RenderStatusBody: the head is
// what varies per request, {"meta":{"request_id":<request_id>, and the tail
// everything after it, which depends on nothing but the snapshot and the
// request's page (so a cached page's tail can be compressed once and kept;
// see api/body_coding.h). Each replaces *out; the tail does not read
// v.request_id.
void RenderStatusHead(std::string_view request_id, std::string* out);
void RenderStatusTail(const StatusView& v, std::string* out);

// The ETag field value of the 200 body RenderStatusBody(v) gives: a weak
// validator (MakeEtag) of that body without meta.request_id and with the
// rows stood for by `rows_digest` (Sha256Hex of v.rows_json), so it covers
// everything the body shows, the same on every instance, and costs a small
// render and one short hash however large the page is. An empty
// `rows_digest` with rows present is computed here (a store that did not
// keep one). v.request_id is not read.
std::string RenderStatusEtag(const StatusView& v, std::string_view rows_digest);

// {"error":"STATUS_NOT_FOUND"}, the contract's 404 body.
std::string RenderNotFoundBody();

// An RFC 9457 problem details object. The caller keeps title and detail
// within the contract's patterns (see IsValidDetail); they are JSON-escaped
// here regardless.
struct Problem {
  int status;
  std::string type;
  std::string title;
  std::string detail;
  std::string instance;  // left out of the body when empty
};

// {"type":..,"title":..,"status":N,"detail":..,"instance":..}
std::string RenderProblemBody(const Problem& p);

}  // namespace qs::api
