// Must not compile: common/ is the lowest layer and sees no other layer's
// headers. tests/layering/README.md says how this is checked.
#include "metrics/metrics.h"
