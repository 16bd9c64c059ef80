// Bytes from a Redis node, read by hiredis's reader, each reply handed to
// the CLUSTER SLOTS parser of the limiter's cluster mode.
//
// Properties: ParseClusterSlots is total (a map or an Unavailable error,
// never a crash); a map names only masters with a host name and a port in
// 1..65535, every slot it serves is served by one of its masters, and a
// MOVED's re-pointing of one slot changes that slot alone.
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "ratelimit/redis_cluster.h"

namespace {

using qs::ratelimit::kClusterSlots;
using qs::ratelimit::NodeAddress;
using qs::ratelimit::ParseClusterSlots;
using qs::ratelimit::SlotMap;

struct ReaderDeleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};
struct ReplyDeleter {
  void operator()(void* r) const { freeReplyObject(r); }
};

// As in redis_reply_fuzz: hiredis allocates what a multi-bulk header
// announces before any element arrives; skip inputs announcing huge arrays.
bool AnnouncesHugeArray(std::string_view in) {
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '*') continue;
    size_t j = i + 1;
    if (j < in.size() && in[j] == '-') ++j;
    long long n = 0;
    size_t digits = 0;
    while (j < in.size() && in[j] >= '0' && in[j] <= '9' && digits < 12) {
      n = n * 10 + (in[j] - '0');
      ++j;
      ++digits;
    }
    if (digits == 12 || n > (1 << 16)) return true;
  }
  return false;
}

void Check(const redisReply& reply) {
  const NodeAddress asked{"10.0.0.1", 7000};
  qs::Result<SlotMap> parsed = ParseClusterSlots(reply, asked);
  if (!parsed.ok()) {
    QS_FUZZ_CHECK(parsed.error().code == qs::ErrorCode::kUnavailable,
                  "a bad map is Unavailable");
    return;
  }
  SlotMap& map = parsed.value();
  for (const NodeAddress& m : map.masters()) {
    QS_FUZZ_CHECK(!m.host.empty() && m.host.size() <= 255,
                  "a master has a host");
    QS_FUZZ_CHECK(m.port >= 1 && m.port <= 65535, "port in 1..65535");
  }
  const NodeAddress* before = map.MasterOf(0);
  const NodeAddress kept = before ? *before : NodeAddress{};
  for (int slot = 0; slot < kClusterSlots; ++slot) {
    const NodeAddress* m = map.MasterOf(slot);
    if (m == nullptr) continue;
    bool listed = false;
    for (const NodeAddress& n : map.masters()) listed = listed || n == *m;
    QS_FUZZ_CHECK(listed, "a slot's master is one of the map's masters");
  }
  map.Assign(kClusterSlots - 1, {"moved.example", 1});
  QS_FUZZ_CHECK(
      map.MasterOf(kClusterSlots - 1)->ToString() == "moved.example:1",
      "a re-pointed slot has its new master");
  const NodeAddress* after = map.MasterOf(0);
  QS_FUZZ_CHECK((before == nullptr) == (after == nullptr) &&
                    (after == nullptr || *after == kept),
                "re-pointing one slot leaves the others");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (AnnouncesHugeArray(input)) return 0;
  std::unique_ptr<redisReader, ReaderDeleter> reader(redisReaderCreate());
  QS_FUZZ_CHECK(reader != nullptr, "a reader is created");
  QS_FUZZ_CHECK(
      redisReaderFeed(reader.get(), input.data(), input.size()) == REDIS_OK,
      "feeding a healthy reader succeeds");
  for (int n = 0; n < 16; ++n) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK || raw == nullptr) {
      return 0;
    }
    std::unique_ptr<void, ReplyDeleter> reply(raw);
    Check(*static_cast<redisReply*>(raw));
  }
  return 0;
}
