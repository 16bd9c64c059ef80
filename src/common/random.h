// Randomness from the kernel, for what must not be guessed or must not
// collide across instances: API tokens and the seeds of the request id
// generators.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace qs {

// Fills `buf` with `len` bytes from the kernel's cryptographically secure
// generator (getrandom(2) without flags: it waits, once after boot, until
// the generator is seeded, and never returns weaker bytes). Calls that are
// interrupted (EINTR), that the kernel asks to repeat (EAGAIN), or that
// return fewer bytes than asked are repeated until `len` bytes are there.
//
// Any other failure (ENOSYS on a kernel without getrandom, EPERM from a
// seccomp filter, EFAULT) aborts the process after a line on stderr. There
// is no weaker source this service would rather use: a guessable API token
// is worse than none, and request ids from a predictable seed collide
// across instances. Such a failure is permanent, so retrying it would spin
// for ever; it shows on the first token or request, not later.
void FillRandom(void* buf, size_t len);

namespace random_internal {

// A source of random bytes with getrandom(2)'s contract.
using Source = ssize_t (*)(void* buf, size_t len, unsigned flags);

// FillRandom's loop over `source`: 0 once `len` bytes were read, else the
// errno of the failure that stopped it (EIO for a source that returned no
// bytes at all). Exposed for tests.
int FillFrom(Source source, void* buf, size_t len);

}  // namespace random_internal
}  // namespace qs
