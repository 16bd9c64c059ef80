#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace qs::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a program to completion with `input` on its stdin and the current
// environment plus `env`. Kills it after `timeout`.
ProcessResult RunProcess(
    const std::vector<std::string>& argv, const std::string& input = "",
    const std::map<std::string, std::string>& env = {},
    std::chrono::seconds timeout = std::chrono::seconds(120));

// A background child process whose stdout and stderr go to a file.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv,
               const std::map<std::string, std::string>& env,
               const std::string& log_path);
  ~ChildProcess();  // SIGKILLs it if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Waits for exit; returns the exit code, or -1 on timeout, 128+N when
  // killed by signal N.
  int Wait(std::chrono::milliseconds timeout);
  bool Running();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  bool reaped_ = false;
};

// A TCP port on 127.0.0.1 that nothing listens on right now, other than
// `unlike` (the kernel may hand a port just released out again at once, so
// two ports asked for in a row may be the same).
int FreePort(int unlike = -1);

// Reads a whole file.
std::string ReadFile(const std::string& path);

}  // namespace qs::testing
