// Runs a shell command line and collects what it prints (stdout and stderr
// together): for tests of the command-line tools. Plain C++14, so the FIX
// tests can use it too.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace gpux {
namespace test {

struct CommandResult {
  int status = -1;  // the exit status; -1 when killed by a signal
  std::string output;
};

inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace test
}  // namespace gpux
