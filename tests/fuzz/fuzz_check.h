// Property checks for the fuzz targets. A broken property aborts with a
// message, which libFuzzer reports as a crash and saves the input for.
#pragma once

#include <cstdio>
#include <cstdlib>

#define QS_FUZZ_CHECK(cond, what)                                         \
  do {                                                                    \
    if (!(cond)) {                                                        \
      std::fprintf(stderr, "%s:%d: property broken: %s (%s)\n", __FILE__, \
                   __LINE__, what, #cond);                                \
      std::abort();                                                       \
    }                                                                     \
  } while (0)
