// A ThreadSanitizer report from a child process (gpuxd, gpux) fails the test
// that started it. The children write their stderr to a log file the test
// reads only when something else goes wrong, and most tests stop them with
// SIGKILL without looking at the exit status, so a race in a child would
// otherwise pass unseen (ops/test-tsan). Plain C++14, for the FIX tests too.
#pragma once

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>

namespace gpux {
namespace test {

// The log's size now: where the next child's output will start.
inline long log_size(const std::string& log) {
  struct stat info;
  return ::stat(log.c_str(), &info) == 0 ? static_cast<long>(info.st_size) : 0;
}

// The first ThreadSanitizer report in `text` (at most 8 KiB of it), or "".
inline std::string sanitizer_report(const std::string& text) {
  const auto at = text.find("ThreadSanitizer");
  if (at == std::string::npos) return std::string();
  const auto line = text.rfind('\n', at);
  return text.substr(line == std::string::npos ? 0 : line + 1, 8192);
}

// Checks the part of `log` from byte `from` on (what one child wrote to a log
// that several append to) for a ThreadSanitizer report.
inline void check_no_sanitizer_report(const std::string& log, long from = 0) {
  std::ifstream in(log.c_str());
  in.seekg(from);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string report = sanitizer_report(text);
  CHECK_MESSAGE(report.empty(), "a child process reported a data race in " << log << ":\n"
                                                                           << report);
}

}  // namespace test
}  // namespace gpux
