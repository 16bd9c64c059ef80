#include "http/request_id.h"

#include <cstdint>

#include "common/ascii.h"
#include "common/random.h"

namespace qs::http {
namespace {

// xoshiro256** : fast, and seeded per thread from the kernel (FillRandom,
// which aborts rather than seed from anything weaker).
class Xoshiro {
 public:
  Xoshiro() { FillRandom(s_, sizeof s_); }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace

std::string NewRequestId() {
  thread_local Xoshiro rng;
  uint64_t a = rng.Next(), b = rng.Next();
  std::string id(22, 'A');
  for (int i = 0; i < 22; ++i) {
    uint64_t& word = i < 11 ? a : b;
    id[i] = ascii::kBase64UrlAlphabet[word & 63];
    word >>= 6;
  }
  return id;
}

}  // namespace qs::http
