#pragma once

#include <cstdint>
#include <string>
#include <string_view>

struct redisReply;  // hiredis; kept out of this header

namespace qs::ratelimit {

// What one Redis reply means to the limiter. Every path that reads a reply
// (the counting pipeline, the connection handshake, readiness probes) asks
// this one classifier, so an error reply is never read two ways.
enum class ReplyKind {
  kInteger,     // an integer reply: `integer` holds it
  kString,      // a bulk or status string: `text` holds it
  kNoScript,    // NOSCRIPT: the script cache was flushed, load it again
  kMoved,       // MOVED slot host:port: the slot lives elsewhere now
  kAsk,         // ASK slot host:port: ask that node once, after ASKING
  kReadOnly,    // READONLY: a replica answered (after a failover)
  kTryAgain,    // TRYAGAIN or CLUSTERDOWN: the cluster is reconfiguring
  kError,       // any other error reply: `text` holds it
  kUnexpected,  // nil, an array, or a type the caller did not ask for
};

struct ClassifiedReply {
  ReplyKind kind = ReplyKind::kUnexpected;
  int64_t integer = 0;
  std::string text;  // the error text or string value; never a secret
  // For kMoved and kAsk: where the slot is served now.
  int slot = -1;
  std::string host;
  int port = 0;
};

// Classifies `reply`. Total: any reply, of any type and content, gives an
// answer; a MOVED or ASK whose address does not parse is kError.
ClassifiedReply ClassifyReply(const redisReply& reply);

// Parses the text of a MOVED or ASK error ("MOVED 3999 127.0.0.1:6381",
// IPv6 hosts as the last colon separates the port). False when it is
// neither or does not parse; then the outputs are unspecified.
bool ParseRedirect(std::string_view error_text, ReplyKind* kind, int* slot,
                   std::string* host, int* port);

}  // namespace qs::ratelimit
