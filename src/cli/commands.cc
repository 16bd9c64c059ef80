#include "cli/commands.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <ostream>

#include "api/request_parser.h"
#include "api/url_codec.h"
#include "common/sha256.h"
#include "auth/token.h"
#include "common/ascii.h"
#include "common/text.h"
#include "log/log.h"
#include "store/admin_store.h"

namespace qs::cli {
namespace {

// A usage error (exit 2) or a failed operation (exit 1).
struct Failure {
  int exit_code;
  std::string message;
};

using Outcome = std::optional<Failure>;

Failure Usage(std::string message) { return {2, std::move(message)}; }
Failure Failed(const Error& e) {
  // The operator may see the internal text; it never holds a secret.
  return {1, e.internal.empty() ? e.detail : e.detail + ": " + e.internal};
}

// Parses a required or optional integer flag within [lo, hi].
class IntFlag {
 public:
  static std::optional<Failure> Read(config::Flags& flags,
                                     const std::string& name, int64_t lo,
                                     int64_t hi, bool required,
                                     std::optional<int64_t>* out) {
    auto v = flags.Take(name);
    if (!v) {
      if (required) return Usage("--" + name + " is required");
      return std::nullopt;
    }
    int64_t n = 0;
    if (!ParseInteger(*v, lo, hi, &n)) {
      return Usage("--" + name + " must be an integer from " +
                   std::to_string(lo) + " to " + std::to_string(hi));
    }
    *out = n;
    return std::nullopt;
  }
};

constexpr int64_t kMaxId = INT64_MAX;
constexpr int64_t kTenYears = 10LL * 366 * 24 * 3600;

std::optional<Failure> RequireString(config::Flags& flags,
                                     const std::string& name,
                                     std::string* out) {
  auto v = flags.Take(name);
  if (!v || v->empty()) return Usage("--" + name + " is required");
  *out = *v;
  return std::nullopt;
}

// Every flag must have been taken by now: a typo is an error, not ignored.
std::optional<Failure> RejectUnknown(const config::Flags& flags) {
  std::string unknown = flags.FirstUnknown();
  if (unknown.empty()) return std::nullopt;
  return Usage("unknown flag " + unknown);
}

// The schedule id rule of the API, so the CLI stores no id it would refuse.
bool IsScheduleId(const std::string& s) {
  return ascii::IsIdentifier(s, api::kMaxScheduleIdLength);
}

// Reads rows from a stream: one JSON object a line; blank lines skipped.
class LineRowSource final : public store::RowSource {
 public:
  explicit LineRowSource(std::istream& in) : in_(in) {}
  Result<std::optional<std::string>> Next() override {
    std::string line;
    while (std::getline(in_, line)) {
      ++line_number_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      rapidjson::Document doc;
      // Iterative parsing: no input nests deep enough to exhaust the stack.
      doc.Parse<rapidjson::kParseIterativeFlag>(line.data(), line.size());
      if (doc.HasParseError()) {
        return Error::InvalidArgument(
            "line " + std::to_string(line_number_) + " is not valid JSON: " +
            rapidjson::GetParseError_En(doc.GetParseError()));
      }
      if (!doc.IsObject()) {
        return Error::InvalidArgument("line " + std::to_string(line_number_) +
                                      " is not a JSON object");
      }
      return std::optional<std::string>(std::move(line));
    }
    return std::optional<std::string>();
  }

 private:
  std::istream& in_;
  int64_t line_number_ = 0;
};

struct Context {
  config::Flags& flags;
  const config::Config& config;
  std::istream& in;
  std::ostream& out;
};

Result<std::unique_ptr<store::AdminStore>> Connect(const config::Config& c) {
  return store::AdminStore::Connect(
      c.database_url, std::chrono::milliseconds(c.database_timeout_ms));
}

// Each command: reads its flags (all of them, before touching the database,
// so a usage error changes nothing), then does its work.
Outcome Migrate(Context& ctx) {
  auto applied = store::ApplyMigrations(
      ctx.config.database_url, ctx.config.migrations_dir,
      std::chrono::milliseconds(ctx.config.database_timeout_ms));
  if (!applied.ok()) return Failed(applied.error());
  if (applied.value().empty()) ctx.out << "nothing to apply\n";
  for (const auto& v : applied.value()) ctx.out << "applied " << v << "\n";
  return std::nullopt;
}

Outcome LicenseCreate(Context& ctx) {
  std::string name;
  std::optional<int64_t> limit, retention;
  if (auto f = RequireString(ctx.flags, "name", &name)) return f;
  if (name.size() > 200) return Usage("--name must be at most 200 characters");
  if (auto f = IntFlag::Read(ctx.flags, "rate-limit", 1, 10000, false, &limit))
    return f;
  if (auto f = IntFlag::Read(ctx.flags, "retention-seconds", 0, 31536000, false,
                             &retention)) {
    return f;
  }
  if (auto f = RejectUnknown(ctx.flags)) return f;
  auto db = Connect(ctx.config);
  if (!db.ok()) return Failed(db.error());
  auto id = db.value()->CreateLicense(
      name, limit ? std::optional<int32_t>(*limit) : std::nullopt,
      retention ? std::optional<int32_t>(*retention) : std::nullopt);
  if (!id.ok()) return Failed(id.error());
  ctx.out << id.value() << "\n";
  return std::nullopt;
}

Outcome KeyCreate(Context& ctx) {
  std::optional<int64_t> license, limit, expires;
  if (auto f = IntFlag::Read(ctx.flags, "license", 1, kMaxId, true, &license))
    return f;
  if (auto f = IntFlag::Read(ctx.flags, "rate-limit", 1, 10000, false, &limit))
    return f;
  if (auto f = IntFlag::Read(ctx.flags, "expires-in-seconds", 1, kTenYears,
                             false, &expires)) {
    return f;
  }
  if (auto f = RejectUnknown(ctx.flags)) return f;
  auto db = Connect(ctx.config);
  if (!db.ok()) return Failed(db.error());
  std::string token = auth::NewToken();
  auto id = db.value()->CreateKey(
      *license, Sha256Hex(token),
      limit ? std::optional<int32_t>(*limit) : std::nullopt, expires);
  if (!id.ok()) return Failed(id.error());
  ctx.out << token << "\n";
  return std::nullopt;
}

Outcome KeyRevoke(Context& ctx) {
  std::string token;
  if (auto f = RequireString(ctx.flags, "token", &token)) return f;
  if (auto f = RejectUnknown(ctx.flags)) return f;
  auto db = Connect(ctx.config);
  if (!db.ok()) return Failed(db.error());
  if (Status s = db.value()->RevokeKey(Sha256Hex(token)); !s.ok()) {
    return Failed(s.error());
  }
  return std::nullopt;
}

Outcome QueryPut(Context& ctx) {
  store::QueryPut put;
  std::optional<int64_t> license, ready, total, finished_ago;
  std::string status;
  if (auto f = IntFlag::Read(ctx.flags, "license", 1, kMaxId, true, &license))
    return f;
  if (auto f = RequireString(ctx.flags, "schedule-id", &put.schedule_id))
    return f;
  if (!IsScheduleId(put.schedule_id)) {
    return Usage("--schedule-id must be 1 to 50 characters of A-Z a-z 0-9 _ -");
  }
  if (auto f = RequireString(ctx.flags, "status", &status)) return f;
  auto code = ParseQueryStatus(status);
  if (!code) {
    return Usage(
        "--status must be one of SCHEDULED QUEUED RUNNING SUCCESS FAILURE "
        "STOPPED");
  }
  if (auto f = IntFlag::Read(ctx.flags, "ready", 0, 10000, false, &ready))
    return f;
  if (auto f = IntFlag::Read(ctx.flags, "total", 0, 10000, false, &total))
    return f;
  if (auto f = IntFlag::Read(ctx.flags, "finished-ago", 0, kTenYears, false,
                             &finished_ago)) {
    return f;
  }
  if (finished_ago && !IsFinished(*code)) {
    return Usage("--finished-ago applies only to SUCCESS, FAILURE and STOPPED");
  }
  if (auto f = RejectUnknown(ctx.flags)) return f;
  put.license_id = *license;
  put.status = *code;
  if (ready) put.queries_ready = static_cast<int32_t>(*ready);
  if (total) put.queries_total = static_cast<int32_t>(*total);
  put.finished_ago_seconds = finished_ago;
  auto db = Connect(ctx.config);
  if (!db.ok()) return Failed(db.error());
  if (Status s = db.value()->PutQuery(put); !s.ok()) return Failed(s.error());
  return std::nullopt;
}

Outcome RowsLoad(Context& ctx) {
  std::string schedule_id;
  if (auto f = RequireString(ctx.flags, "schedule-id", &schedule_id)) return f;
  if (!IsScheduleId(schedule_id)) {
    return Usage("--schedule-id must be 1 to 50 characters of A-Z a-z 0-9 _ -");
  }
  if (auto f = RejectUnknown(ctx.flags)) return f;
  auto db = Connect(ctx.config);
  if (!db.ok()) return Failed(db.error());
  LineRowSource source(ctx.in);
  auto n = db.value()->LoadRows(schedule_id, source);
  if (!n.ok()) return Failed(n.error());
  ctx.out << n.value() << "\n";
  return std::nullopt;
}

Outcome QueueSet(Context& ctx) {
  std::optional<int64_t> license, scheduled, running;
  if (auto f = IntFlag::Read(ctx.flags, "license", 1, kMaxId, true, &license))
    return f;
  if (auto f = IntFlag::Read(ctx.flags, "scheduled", 0, 1000, true, &scheduled))
    return f;
  if (auto f = IntFlag::Read(ctx.flags, "running", 0, 1000, true, &running))
    return f;
  if (auto f = RejectUnknown(ctx.flags)) return f;
  auto db = Connect(ctx.config);
  if (!db.ok()) return Failed(db.error());
  Status s = db.value()->SetQueue(*license, static_cast<int32_t>(*scheduled),
                                  static_cast<int32_t>(*running));
  if (!s.ok()) return Failed(s.error());
  return std::nullopt;
}

// Seeds a demo license, a fresh key, a running query and a finished one with
// 250 rows. Safe to run again: it reuses the license and queries.
Outcome Demo(Context& ctx) {
  if (auto f = RejectUnknown(ctx.flags)) return f;
  auto db = Connect(ctx.config);
  if (!db.ok()) return Failed(db.error());
  store::AdminStore& s = *db.value();
  auto found = s.FindLicense("demo");
  if (!found.ok()) return Failed(found.error());
  int64_t license;
  if (found.value()) {
    license = *found.value();
  } else {
    auto id = s.CreateLicense("demo", std::nullopt, 86400);
    if (!id.ok()) return Failed(id.error());
    license = id.value();
  }
  std::string token = auth::NewToken();
  auto key =
      s.CreateKey(license, Sha256Hex(token), std::nullopt, std::nullopt);
  if (!key.ok()) return Failed(key.error());
  store::QueryPut running{
      license, "demo-running", QueryStatusCode::kRunning, 1, 3, {}};
  if (Status st = s.PutQuery(running); !st.ok()) return Failed(st.error());
  store::QueryPut done{license, "demo-success", QueryStatusCode::kSuccess, 3, 3,
                       {}};
  if (Status st = s.PutQuery(done); !st.ok()) return Failed(st.error());
  auto rows = s.QueryRowCount("demo-success");
  if (!rows.ok()) return Failed(rows.error());
  if (rows.value() == 0) {
    class DemoRows final : public store::RowSource {
     public:
      Result<std::optional<std::string>> Next() override {
        if (i_ >= 250) return std::optional<std::string>();
        int day = i_ % 30 + 1;
        std::string row =
            "{\"date\":\"2026-11-" + std::string(day < 10 ? "0" : "") +
            std::to_string(day) + "\",\"campaign\":\"campaign-" +
            std::to_string(i_ / 30 + 1) +
            "\",\"clicks\":" + std::to_string((i_ * 37) % 101) + "}";
        ++i_;
        return std::optional<std::string>(std::move(row));
      }

     private:
      int i_ = 0;
    } demo_rows;
    auto loaded = s.LoadRows("demo-success", demo_rows);
    if (!loaded.ok()) return Failed(loaded.error());
  }
  if (Status st = s.SetQueue(license, 2, 1); !st.ok()) {
    return Failed(st.error());
  }

  std::string base = ctx.config.public_base_url;
  if (base.empty()) {
    std::string host = ctx.config.listen.host;
    if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
    base =
        "http://" + config::HostPort{host, ctx.config.listen.port}.ToString();
  }
  std::string json =
      R"({"schedule_id":"demo-success","offset_start":0,"offset_end":9})";
  ctx.out << "curl -sS -H 'Authorization: Bearer " << token << "' '" << base
          << "/query/status?json=" << api::PercentEncode(json) << "'\n";
  return std::nullopt;
}

struct Command {
  std::function<Outcome(Context&)> run;
  std::vector<std::string> flags;
};

const std::map<std::string, Command>& Commands() {
  static const std::map<std::string, Command> kCommands{
      {"migrate", {Migrate, {}}},
      {"license create",
       {LicenseCreate, {"name", "rate-limit", "retention-seconds"}}},
      {"key create",
       {KeyCreate, {"license", "rate-limit", "expires-in-seconds"}}},
      {"key revoke", {KeyRevoke, {"token"}}},
      {"query put",
       {QueryPut,
        {"license", "schedule-id", "status", "ready", "total",
         "finished-ago"}}},
      {"rows load", {RowsLoad, {"schedule-id"}}},
      {"queue set", {QueueSet, {"license", "scheduled", "running"}}},
      {"demo", {Demo, {}}},
  };
  return kCommands;
}

std::string CommandName(const std::vector<std::string>& words) {
  std::string name;
  for (const auto& w : words) name += (name.empty() ? "" : " ") + w;
  return name;
}

}  // namespace

std::vector<std::string> CommandFlagNames(
    const std::vector<std::string>& words) {
  auto it = Commands().find(CommandName(words));
  return it == Commands().end() ? std::vector<std::string>{} : it->second.flags;
}

std::string Usage() {
  return "usage: querystatus <command> [--flag value ...]\n"
         "commands:\n"
         "  serve\n"
         "  migrate\n"
         "  license create --name NAME [--rate-limit N] [--retention-seconds "
         "S]\n"
         "  key create --license ID [--rate-limit N] [--expires-in-seconds S]\n"
         "  key revoke --token TOKEN\n"
         "  query put --license ID --schedule-id S --status CODE [--ready N] "
         "[--total N] [--finished-ago SECONDS]\n"
         "  rows load --schedule-id S   (rows on stdin, one JSON object a "
         "line)\n"
         "  queue set --license ID --scheduled N --running N\n"
         "  demo\n"
         "settings (flag or environment variable): see README.md\n";
}

int RunCommand(const std::vector<std::string>& words, config::Flags& flags,
               const config::Config& config, std::istream& in,
               std::ostream& out, std::ostream& err) {
  std::string name = CommandName(words);
  auto it = Commands().find(name);
  if (it == Commands().end()) {
    err << "error: unknown command '" << name << "'\n" << Usage();
    return 2;
  }
  Context ctx{flags, config, in, out};
  Outcome failure = it->second.run(ctx);
  // Log lines the command queued come before what it prints last.
  log::Flush();
  if (!failure) return 0;
  // libpq's error text can quote a connection string it could not read.
  err << "error: " << log::RedactSecrets(failure->message, config.database_url)
      << "\n";
  if (failure->exit_code == 2) err << Usage();
  return failure->exit_code;
}

}  // namespace qs::cli
