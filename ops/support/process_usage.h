// What a process on this machine uses, from /proc: CPU time, resident
// memory, open descriptors. For the soak and the tests that watch gpuxd
// under load. Plain C++14, so QuickFIX units can include it.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace gpux {
namespace local {

// User plus system CPU time in clock ticks (/proc/PID/stat fields 14, 15);
// -1 when the process is gone.
inline long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto comm_end = stat.rfind(')');
  if (comm_end == std::string::npos) return -1;
  std::istringstream fields(stat.substr(comm_end + 2));  // from field 3, the state
  std::vector<std::string> f;
  for (std::string field; fields >> field;)
    f.push_back(field);
  return f.size() > 12 ? std::atol(f[11].c_str()) + std::atol(f[12].c_str()) : -1;
}

// Resident memory in KiB (VmRSS); -1 when the process is gone.
inline long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.compare(0, 6, "VmRSS:") == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// Open file descriptors; -1 when the process is gone.
inline long open_descriptors(pid_t pid) {
  DIR* directory = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (directory == nullptr) return -1;
  long count = 0;
  while (const dirent* entry = ::readdir(directory))
    if (entry->d_name[0] != '.') ++count;
  ::closedir(directory);
  return count;
}

// The lowest descriptor number the process has free: with RLIMIT_NOFILE
// set to it, the process can open no more; set to it + 1, exactly one.
// (A count of open descriptors says less: numbers may have holes.)
// -1 when the process is gone.
inline long lowest_free_descriptor(pid_t pid) {
  DIR* directory = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (directory == nullptr) return -1;
  std::vector<bool> used;
  while (const dirent* entry = ::readdir(directory)) {
    if (entry->d_name[0] == '.') continue;
    const auto fd = static_cast<std::size_t>(std::atol(entry->d_name));
    if (fd >= used.size()) used.resize(fd + 1, false);
    used[fd] = true;
  }
  ::closedir(directory);
  long free = 0;
  while (static_cast<std::size_t>(free) < used.size() && used[static_cast<std::size_t>(free)])
    ++free;
  return free;
}

}  // namespace local
}  // namespace gpux
