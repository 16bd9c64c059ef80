#include "common/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace qs {
namespace random_internal {

int FillFrom(Source source, void* buf, size_t len) {
  auto* p = static_cast<unsigned char*>(buf);
  size_t got = 0;
  while (got < len) {
    ssize_t n = source(p + got, len - got, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno;
    }
    // Not something getrandom does; a loop on it would never end.
    if (n == 0) return EIO;
    got += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace random_internal

void FillRandom(void* buf, size_t len) {
  int error = random_internal::FillFrom(&getrandom, buf, len);
  if (error != 0) {
    std::fprintf(stderr, "getrandom failed: %s (errno %d); aborting\n",
                 std::strerror(error), error);
    std::abort();
  }
}

}  // namespace qs
