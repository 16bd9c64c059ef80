// What a check does when the dependency that decides it cannot answer.
#pragma once

namespace qs {

enum class FailureMode {
  kOpen,    // let the request through (the caller decides how to account it)
  kClosed,  // refuse it
};

}  // namespace qs
