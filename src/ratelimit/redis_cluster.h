#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/redis_url.h"

struct redisReply;  // hiredis; kept out of this header

namespace qs::ratelimit {

// Redis Cluster's key space, as its specification defines it: 16384 slots,
// a key's slot the CRC16 (XMODEM) of its hash tag (or of the whole key when
// it has none), modulo 16384.
inline constexpr int kClusterSlots = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0, no reflection),
// the checksum of the cluster specification. Crc16("123456789") == 0x31C3.
uint16_t Crc16(std::string_view data);

// The slot of `key`: when the key holds a '{' followed later by a '}' with
// at least one byte between them, only the bytes between the first '{' and
// the first '}' after it are hashed ("{user1000}.following" and
// "{user1000}.followers" share a slot); otherwise the whole key is.
int KeySlot(std::string_view key);

// A node's client address, as the settings name it.
using NodeAddress = config::RedisNode;

// Which master serves each slot. A slot no master serves (a map read while
// the cluster is incomplete) has none.
class SlotMap {
 public:
  // The master of `slot` (0..16383), or nullptr when none serves it.
  const NodeAddress* MasterOf(int slot) const;
  // Points `slot` at `master` (a MOVED reply says so before the next full
  // read of the map).
  void Assign(int slot, const NodeAddress& master);
  // Every master named in the map, each once.
  const std::vector<NodeAddress>& masters() const { return masters_; }
  bool empty() const { return masters_.empty(); }
  // The same master for every slot.
  bool SameAs(const SlotMap& other) const;

 private:
  friend Result<SlotMap> ParseClusterSlots(const redisReply&,
                                           const NodeAddress&);
  int IndexOf(const NodeAddress& master);
  std::vector<NodeAddress> masters_;
  // Index into masters_, or -1.
  std::array<int16_t, kClusterSlots> slot_to_master_ = MakeEmpty();
  static std::array<int16_t, kClusterSlots> MakeEmpty();
};

// Reads the reply to CLUSTER SLOTS: an array of [first slot, last slot,
// [host, port, ...] of the master, replicas...]. A master whose host is
// empty is `asked` itself (Redis answers so when it does not know how it is
// reached); a host of "?" (unknown endpoint) leaves its slots unserved.
// Total: any reply gives a map or an error naming what is wrong, never a
// crash; overlapping ranges are an error.
Result<SlotMap> ParseClusterSlots(const redisReply& reply,
                                  const NodeAddress& asked);

}  // namespace qs::ratelimit
