// The `json` query parameter, already percent-decoded, as a client sends it.
//
// Properties: every accepted request satisfies the contract's ranges; an
// accepted request rendered back to JSON (plainly, and with every key and
// string character \u-escaped in another key order) parses to the same
// request; surrounding whitespace changes nothing; every rejection is
// InvalidArgument with a problem-details-safe detail.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "api/request_parser.h"
#include "api/status_request.h"
#include "fuzz/fuzz_check.h"

namespace {

using qs::api::ParseStatusRequest;
using qs::api::StatusRequest;

bool IsIdentifier(std::string_view s, size_t max_length) {
  if (s.empty() || s.size() > max_length) return false;
  for (unsigned char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool Same(const StatusRequest& a, const StatusRequest& b) {
  return a.schedule_id == b.schedule_id && a.api_key == b.api_key &&
         a.offset_start == b.offset_start && a.offset_end == b.offset_end;
}

// A JSON string literal of `s`, each character written as \u00XX when
// `escape_all`. `s` holds identifier characters only, so nothing else needs
// escaping.
std::string Literal(std::string_view s, bool escape_all) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (escape_all) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string Render(const StatusRequest& r, bool escaped) {
  std::string start =
      Literal("offset_start", escaped) + ":" + std::to_string(r.offset_start);
  std::string id =
      Literal("schedule_id", escaped) + ":" + Literal(r.schedule_id, escaped);
  std::string out = "{";
  // The escaped form also reverses the key order: order must not matter.
  if (escaped) {
    if (r.offset_end) {
      out += Literal("offset_end", escaped) + ":" +
             std::to_string(*r.offset_end) + ",";
    }
    out += start + ",";
    if (r.api_key) {
      out += Literal("api_key", escaped) + ":" + Literal(*r.api_key, escaped) +
             ",";
    }
    out += id;
  } else {
    out += id + "," + start;
    if (r.api_key) {
      out +=
          "," + Literal("api_key", escaped) + ":" + Literal(*r.api_key, false);
    }
    if (r.offset_end) {
      out += "," + Literal("offset_end", escaped) + ":" +
             std::to_string(*r.offset_end);
    }
  }
  out += "}";
  return out;
}

void CheckAccepted(const StatusRequest& r) {
  QS_FUZZ_CHECK(IsIdentifier(r.schedule_id, 50),
                "schedule_id is 1 to 50 identifier characters");
  QS_FUZZ_CHECK(!r.api_key || IsIdentifier(*r.api_key, 255),
                "api_key is 1 to 255 identifier characters");
  QS_FUZZ_CHECK(r.offset_start >= 0 && r.offset_start <= qs::api::kMaxOffset,
                "offset_start in 0..1000000");
  QS_FUZZ_CHECK(!r.offset_end || (*r.offset_end >= r.offset_start &&
                                  *r.offset_end <= qs::api::kMaxOffset),
                "offset_end in offset_start..1000000");
  qs::api::RowRange range = qs::api::EffectiveRange(r);
  QS_FUZZ_CHECK(range.size() >= 1 && range.size() <= qs::api::kMaxPageRows,
                "the effective range holds 1 to 10000 rows");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  qs::Result<StatusRequest> parsed = ParseStatusRequest(input);

  if (!parsed.ok()) {
    const qs::Error& e = parsed.error();
    QS_FUZZ_CHECK(e.code == qs::ErrorCode::kInvalidArgument,
                  "every rejection is InvalidArgument");
    QS_FUZZ_CHECK(qs::api::IsValidDetail(e.detail),
                  "the detail matches the problem-details pattern");
  } else {
    QS_FUZZ_CHECK(!input.empty() && input.size() <= qs::api::kMaxJsonParamBytes,
                  "only 1 to 4096 bytes are accepted");
    const StatusRequest& r = parsed.value();
    CheckAccepted(r);
    for (bool escaped : {false, true}) {
      std::string rendered = Render(r, escaped);
      qs::Result<StatusRequest> again = ParseStatusRequest(rendered);
      QS_FUZZ_CHECK(again.ok(), "a rendered request parses");
      QS_FUZZ_CHECK(Same(r, again.value()),
                    "a rendered request parses to the same request");
    }
  }

  // JSON whitespace around the value changes nothing, rejection details
  // included (as long as the padded value still fits the length limit).
  if (!input.empty() && input.size() + 4 <= qs::api::kMaxJsonParamBytes) {
    std::string padded = " \n" + std::string(input) + "\t\r";
    qs::Result<StatusRequest> p = ParseStatusRequest(padded);
    QS_FUZZ_CHECK(p.ok() == parsed.ok(), "whitespace changes acceptance");
    if (p.ok()) {
      QS_FUZZ_CHECK(Same(p.value(), parsed.value()),
                    "whitespace changes the request");
    } else {
      QS_FUZZ_CHECK(p.error().detail == parsed.error().detail,
                    "whitespace changes the rejection detail");
    }
  }
  return 0;
}
