#include "config/flags.h"

namespace qs::config {

Result<Flags> Flags::Parse(const std::vector<std::string>& args) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      return Error::InvalidArgument("unexpected argument " + arg);
    }
    std::string name, value;
    auto eq = arg.find('=');
    if (eq != std::string::npos) {
      name = arg.substr(2, eq - 2);
      value = arg.substr(eq + 1);
    } else {
      name = arg.substr(2);
      if (i + 1 >= args.size()) {
        return Error::InvalidArgument("flag --" + name + " needs a value");
      }
      value = args[++i];
    }
    if (flags.values_.count(name)) {
      return Error::InvalidArgument("flag --" + name + " is given twice");
    }
    flags.values_[name] = value;
  }
  return flags;
}

std::optional<std::string> Flags::Take(const std::string& name) {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  std::string v = std::move(it->second);
  values_.erase(it);
  return v;
}

Flags Flags::Extract(const std::vector<std::string>& names) {
  Flags out;
  for (const auto& name : names) {
    if (auto v = Take(name)) out.values_[name] = std::move(*v);
  }
  return out;
}

std::string Flags::FirstUnknown() const {
  return values_.empty() ? std::string() : "--" + values_.begin()->first;
}

}  // namespace qs::config
