// Runs a shell command line and collects what it prints (stdout and stderr
// together): for tests of the command-line tools. Plain C++14, so the FIX
// tests can use it too. A ThreadSanitizer report in what it prints fails the
// test (child_log.h).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "child_log.h"

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
  // A test may expect a failing status, which a race's exit (66) would pass.
  const std::string report = sanitizer_report(result.output);
  CHECK_MESSAGE(report.empty(), "`" << command << "` reported a data race:\n" << report);
  return result;
}

}  // namespace test
}  // namespace gpux
