#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/flags.h"

namespace qs::cli {

// Runs an operator subcommand other than `serve` (`migrate`, `license
// create`, `key create`, `key revoke`, `query put`, `rows load`, `queue set`,
// `demo`). `words` are the subcommand's words; `flags` holds what the config
// did not take. Results go to `out`, errors to `err`; returns the exit code
// (0 success, 1 failure, 2 usage).
int RunCommand(const std::vector<std::string>& words, config::Flags& flags,
               const config::Config& config, std::istream& in,
               std::ostream& out, std::ostream& err);

// Usage text for --help and for usage errors.
std::string Usage();

}  // namespace qs::cli
