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
// The command's own flags are in `flags` (see CommandFlagNames); any left
// over is a usage error. Results go to `out`, errors to `err`; returns the exit
// code (0 success, 1 failure, 2 usage).
int RunCommand(const std::vector<std::string>& words, config::Flags& flags,
               const config::Config& config, std::istream& in,
               std::ostream& out, std::ostream& err);

// The flags a subcommand defines itself. They are taken out before the
// settings are read, so `license create --rate-limit 10` sets the license's
// limit, not the service default of the same flag name.
std::vector<std::string> CommandFlagNames(
    const std::vector<std::string>& words);

// Usage text for --help and for usage errors.
std::string Usage();

}  // namespace qs::cli
