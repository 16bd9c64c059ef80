// Must not compile: store/ is below http/, so the store layer's include path
// has no http/ headers. tests/layering/README.md says how this is checked.
#include "http/public_server.h"
