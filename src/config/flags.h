#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace qs::config {

// Command-line flags of the form --name value or --name=value. Each consumer
// takes the flags it knows; whatever is left at the end is an error, so a
// typo never passes silently.
class Flags {
 public:
  static Result<Flags> Parse(const std::vector<std::string>& args);

  // Removes and returns the flag's value, if given.
  std::optional<std::string> Take(const std::string& name);
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // Moves the named flags, where given, into a Flags of their own.
  Flags Extract(const std::vector<std::string>& names);
  // The first flag nobody took, as "--name", or empty.
  std::string FirstUnknown() const;

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace qs::config
