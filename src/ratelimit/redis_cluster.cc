#include "ratelimit/redis_cluster.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "common/ascii.h"

namespace qs::ratelimit {
namespace {

// The table of the polynomial 0x1021, computed once.
std::array<uint16_t, 256> MakeCrcTable() {
  std::array<uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    uint16_t crc = static_cast<uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
    t[i] = crc;
  }
  return t;
}

Error SlotsError(const std::string& what) {
  return Error::Unavailable("redis CLUSTER SLOTS: " + what);
}

bool ValidNodeHost(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return ascii::IsAlnum(c) || c == '.' || c == '-' || c == ':' || c == '_';
  });
}

}  // namespace

uint16_t Crc16(std::string_view data) {
  static const std::array<uint16_t, 256> kTable = MakeCrcTable();
  uint16_t crc = 0;
  for (unsigned char c : data) {
    crc = static_cast<uint16_t>((crc << 8) ^ kTable[((crc >> 8) ^ c) & 0xff]);
  }
  return crc;
}

int KeySlot(std::string_view key) {
  size_t open = key.find('{');
  if (open != std::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) % kClusterSlots;
}

std::array<int16_t, kClusterSlots> SlotMap::MakeEmpty() {
  std::array<int16_t, kClusterSlots> a;
  a.fill(-1);
  return a;
}

const NodeAddress* SlotMap::MasterOf(int slot) const {
  if (slot < 0 || slot >= kClusterSlots) return nullptr;
  int16_t i = slot_to_master_[slot];
  return i < 0 ? nullptr : &masters_[i];
}

int SlotMap::IndexOf(const NodeAddress& master) {
  for (size_t i = 0; i < masters_.size(); ++i) {
    if (masters_[i] == master) return static_cast<int>(i);
  }
  masters_.push_back(master);
  return static_cast<int>(masters_.size() - 1);
}

bool SlotMap::SameAs(const SlotMap& other) const {
  for (int slot = 0; slot < kClusterSlots; ++slot) {
    const NodeAddress* a = MasterOf(slot);
    const NodeAddress* b = other.MasterOf(slot);
    if ((a == nullptr) != (b == nullptr)) return false;
    if (a != nullptr && !(*a == *b)) return false;
  }
  return true;
}

void SlotMap::Assign(int slot, const NodeAddress& master) {
  if (slot < 0 || slot >= kClusterSlots) return;
  slot_to_master_[slot] = static_cast<int16_t>(IndexOf(master));
}

Result<SlotMap> ParseClusterSlots(const redisReply& reply,
                                  const NodeAddress& asked) {
  if (reply.type == REDIS_REPLY_ERROR) {
    return SlotsError(reply.str != nullptr ? std::string(reply.str, reply.len)
                                           : std::string("an error reply"));
  }
  if (reply.type != REDIS_REPLY_ARRAY) return SlotsError("not an array");
  SlotMap map;
  std::vector<bool> seen(kClusterSlots, false);
  for (size_t i = 0; i < reply.elements; ++i) {
    const redisReply* range = reply.element[i];
    if (range == nullptr || range->type != REDIS_REPLY_ARRAY ||
        range->elements < 3) {
      return SlotsError("a slot range is not [first, last, master, ...]");
    }
    const redisReply* first = range->element[0];
    const redisReply* last = range->element[1];
    const redisReply* master = range->element[2];
    if (first == nullptr || last == nullptr || master == nullptr ||
        first->type != REDIS_REPLY_INTEGER ||
        last->type != REDIS_REPLY_INTEGER || first->integer < 0 ||
        last->integer >= kClusterSlots || first->integer > last->integer) {
      return SlotsError("a slot range's bounds are not slots");
    }
    if (master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
        master->element[0] == nullptr || master->element[1] == nullptr ||
        master->element[0]->type != REDIS_REPLY_STRING ||
        master->element[1]->type != REDIS_REPLY_INTEGER ||
        master->element[1]->integer < 0 ||
        master->element[1]->integer > 65535) {
      return SlotsError("a slot range's master is not [host, port, ...]");
    }
    const redisReply* host = master->element[0];
    NodeAddress address{std::string(host->str, host->len),
                        static_cast<int>(master->element[1]->integer)};
    for (long long s = first->integer; s <= last->integer; ++s) {
      if (seen[s]) return SlotsError("slot ranges overlap");
      seen[s] = true;
    }
    if (address.host == "?" || address.port == 0) continue;  // unknown
    if (address.host.empty()) address.host = asked.host;
    if (!ValidNodeHost(address.host)) {
      return SlotsError("a master's host is not a host name");
    }
    for (long long s = first->integer; s <= last->integer; ++s) {
      map.Assign(static_cast<int>(s), address);
    }
  }
  return map;
}

}  // namespace qs::ratelimit
