#include "api/request_parser.h"

#include <rapidjson/error/error.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "auth/token.h"
#include "common/ascii.h"

namespace qs::api {
namespace {

// Client-facing details. They must satisfy IsValidDetail: no underscore,
// quote, colon or parenthesis, hence the field names written with spaces.
constexpr char kEmpty[] = "json parameter is empty";
constexpr char kTooLong[] = "json parameter is longer than 4096 bytes";
constexpr char kNotJson[] = "json parameter is not valid JSON";
constexpr char kNotObject[] = "json parameter must be a JSON object";
constexpr char kUnknownField[] = "unknown field in json parameter";
constexpr char kDuplicateField[] = "duplicate field in json parameter";
constexpr char kScheduleIdRequired[] = "schedule id is required";
constexpr char kOffsetOrder[] =
    "offset end must be greater than or equal to offset start";

enum class Field { kScheduleId = 0, kApiKey, kOffsetStart, kOffsetEnd };

struct FieldSpec {
  std::string_view key;
  Field field;
  const char* not_string;    // for string fields: wrong JSON type
  const char* bad_length;    // for string fields
  const char* bad_chars;     // for string fields
  size_t max_length;         // for string fields
  const char* not_integer;   // for integer fields: wrong JSON type or literal
  const char* out_of_range;  // for integer fields
};

constexpr FieldSpec kFields[] = {
    {"schedule_id", Field::kScheduleId, "schedule id must be a string",
     "schedule id must be 1 to 50 characters long",
     "schedule id may contain only letters, digits, underscores and hyphens",
     kMaxScheduleIdLength, nullptr, nullptr},
    {"api_key", Field::kApiKey, "api key must be a string",
     "api key must be 1 to 255 characters long",
     "api key may contain only letters, digits, underscores and hyphens",
     auth::kMaxTokenLength, nullptr, nullptr},
    {"offset_start", Field::kOffsetStart, nullptr, nullptr, nullptr, 0,
     "offset start must be an integer",
     "offset start must be between 0 and 1000000"},
    {"offset_end", Field::kOffsetEnd, nullptr, nullptr, nullptr, 0,
     "offset end must be an integer",
     "offset end must be between 0 and 1000000"},
};

enum class IntegerParse { kOk, kNotInteger, kOutOfRange };

// `literal` is a number token RapidJSON has already checked against the JSON
// grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. Only the integer
// form is accepted, whatever its value (5.0 and 5e0 are rejected).
IntegerParse ParseOffset(std::string_view literal, int64_t* out) {
  bool negative = !literal.empty() && literal[0] == '-';
  if (negative) literal.remove_prefix(1);
  if (literal.empty()) return IntegerParse::kNotInteger;
  // A fraction or an exponent ('.', 'e', 'E') makes it a non-integer literal.
  for (char c : literal) {
    if (c < '0' || c > '9') return IntegerParse::kNotInteger;
  }
  // No leading zeros in JSON, so more than 7 digits is above 1000000; the
  // check also keeps the accumulation below from overflowing.
  if (literal.size() > 7) return IntegerParse::kOutOfRange;
  int64_t value = 0;
  for (char c : literal) value = value * 10 + (c - '0');
  if (negative && value != 0) return IntegerParse::kOutOfRange;  // -0 is 0
  if (value > kMaxOffset) return IntegerParse::kOutOfRange;
  *out = value;
  return IntegerParse::kOk;
}

// SAX handler: builds the request while RapidJSON reads, and stops the parse
// (by returning false) at the first rule broken, recording why in detail_.
// Nesting never goes deeper than the root object: a nested object or array
// is a value of the wrong type and stops the parse at once.
class RequestHandler {
 public:
  bool Null() { return Scalar(ValueKind::kOther, {}); }
  bool Bool(bool) { return Scalar(ValueKind::kOther, {}); }
  // Numbers arrive as RawNumber (kParseNumbersAsStringsFlag); these are kept
  // for completeness and treated as non-literal numbers.
  bool Int(int) { return Scalar(ValueKind::kOther, {}); }
  bool Uint(unsigned) { return Scalar(ValueKind::kOther, {}); }
  bool Int64(int64_t) { return Scalar(ValueKind::kOther, {}); }
  bool Uint64(uint64_t) { return Scalar(ValueKind::kOther, {}); }
  bool Double(double) { return Scalar(ValueKind::kOther, {}); }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool) {
    return Scalar(ValueKind::kNumber, std::string_view(str, length));
  }
  bool String(const char* str, rapidjson::SizeType length, bool) {
    return Scalar(ValueKind::kString, std::string_view(str, length));
  }
  bool StartObject() {
    if (depth_ == 0) {
      depth_ = 1;
      return true;
    }
    return Scalar(ValueKind::kOther, {});
  }
  bool Key(const char* str, rapidjson::SizeType length, bool) {
    std::string_view key(str, length);
    for (const FieldSpec& spec : kFields) {
      if (spec.key == key) {
        unsigned bit = 1u << static_cast<unsigned>(spec.field);
        if (seen_ & bit) return Fail(kDuplicateField);
        seen_ |= bit;
        pending_ = &spec;
        return true;
      }
    }
    return Fail(kUnknownField);
  }
  bool EndObject(rapidjson::SizeType) {
    depth_ = 0;
    return true;
  }
  bool StartArray() { return Scalar(ValueKind::kOther, {}); }
  bool EndArray(rapidjson::SizeType) { return Fail(kNotJson); }  // unreachable

  const char* detail() const { return detail_; }
  bool HasScheduleId() const {
    return seen_ & (1u << static_cast<unsigned>(Field::kScheduleId));
  }
  StatusRequest& request() { return request_; }

 private:
  enum class ValueKind { kString, kNumber, kOther };

  bool Fail(const char* detail) {
    detail_ = detail;
    return false;
  }

  // A value: the root itself (which must be an object) or the value of the
  // key just read.
  bool Scalar(ValueKind kind, std::string_view text) {
    if (depth_ == 0) return Fail(kNotObject);
    const FieldSpec* spec = pending_;
    pending_ = nullptr;
    if (spec == nullptr) return Fail(kNotJson);  // unreachable: keys precede
    if (spec->not_string != nullptr) {
      if (kind != ValueKind::kString) return Fail(spec->not_string);
      if (text.empty() || text.size() > spec->max_length) {
        return Fail(spec->bad_length);
      }
      for (char c : text) {
        if (!ascii::IsIdentifierChar(c)) return Fail(spec->bad_chars);
      }
      if (spec->field == Field::kScheduleId) {
        request_.schedule_id.assign(text);
      } else {
        request_.api_key.emplace(text);
      }
      return true;
    }
    if (kind != ValueKind::kNumber) return Fail(spec->not_integer);
    int64_t value = 0;
    switch (ParseOffset(text, &value)) {
      case IntegerParse::kNotInteger:
        return Fail(spec->not_integer);
      case IntegerParse::kOutOfRange:
        return Fail(spec->out_of_range);
      case IntegerParse::kOk:
        break;
    }
    if (spec->field == Field::kOffsetStart) {
      request_.offset_start = value;
    } else {
      request_.offset_end = value;
    }
    return true;
  }

  int depth_ = 0;
  unsigned seen_ = 0;
  const FieldSpec* pending_ = nullptr;
  const char* detail_ = nullptr;
  StatusRequest request_;
};

// Iterative: constant stack whatever the nesting. Numbers as strings: the
// handler sees the literal, so 5.0 and 1e30 are told apart from integers and
// nothing is converted (or overflows) before the rules are applied.
constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag |
                                 rapidjson::kParseNumbersAsStringsFlag |
                                 rapidjson::kParseValidateEncodingFlag;

}  // namespace

Result<StatusRequest> ParseStatusRequest(std::string_view decoded_json) {
  if (decoded_json.empty()) return Error::InvalidArgument(kEmpty);
  if (decoded_json.size() > kMaxJsonParamBytes) {
    return Error::InvalidArgument(kTooLong);
  }
  // RapidJSON's streams take a NUL byte for the end of input, which would
  // hide whatever follows it. A raw NUL is never valid JSON text (inside a
  // string it must be escaped), so reject it here.
  if (decoded_json.find('\0') != std::string_view::npos) {
    return Error::InvalidArgument(kNotJson);
  }

  RequestHandler handler;
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(decoded_json.data(), decoded_json.size());
  rapidjson::ParseResult parsed = reader.Parse<kParseFlags>(stream, handler);
  if (parsed.IsError()) {
    if (parsed.Code() == rapidjson::kParseErrorNumberTooBig &&
        handler.detail() == nullptr) {
      // RapidJSON gives up on a literal such as 1e400 or a 400-digit integer
      // before the handler sees it. Hand the literal (which starts at the
      // error offset) to the handler so that the field's own rule names the
      // problem; it fails as not an integer or out of range, never passes.
      std::string_view rest =
          decoded_json.substr(std::min(parsed.Offset(), decoded_json.size()));
      size_t end = rest.find_first_not_of("0123456789+-.eE");
      std::string_view literal = rest.substr(0, end);
      handler.RawNumber(literal.data(),
                        static_cast<rapidjson::SizeType>(literal.size()),
                        false);
    }
    const char* detail = handler.detail();
    return Error::InvalidArgument(detail != nullptr ? detail : kNotJson);
  }
  if (!handler.HasScheduleId()) {
    return Error::InvalidArgument(kScheduleIdRequired);
  }
  StatusRequest& request = handler.request();
  if (request.offset_end && *request.offset_end < request.offset_start) {
    return Error::InvalidArgument(kOffsetOrder);
  }
  return std::move(request);
}

bool IsValidDetail(std::string_view detail) {
  if (detail.empty() || detail.size() > 1000) return false;
  for (char c : detail) {
    bool ok = ascii::IsAlnum(c) || ascii::IsSpace(c) || c == '.' || c == ',' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace qs::api
