#include "delivery_state.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace gpux::delivery {

SpawnSettings::SpawnSettings() {
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // None of the agent's sockets or files: Asio's and others' descriptors
  // are not close-on-exec, and a child would hold them for its life.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_init(&attributes);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

SpawnSettings::~SpawnSettings() {
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
}
namespace {

namespace fs = std::filesystem;

struct Process {
  pid_t pid = 0;
  pid_t parent = 0;
  char state = '?';
  unsigned long long start = 0;  // ticks since boot: with the pid, names one process
  std::string name;              // comm
};

// /proc/PID/stat: "pid (comm) state ppid ..." where comm may hold spaces and
// parentheses, so the fields after it are found from the last ')'.
bool read_process(pid_t pid, Process& out) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto open = stat.find('(');
  const auto close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size())
    return false;
  out.pid = pid;
  out.name = stat.substr(open + 1, close - open - 1);
  out.state = stat[close + 2];
  // Fields 4 (ppid) and 22 (starttime), counting from the pid as 1.
  std::size_t at = close + 2;
  for (int field = 3; field <= 22; ++field) {
    const auto end = stat.find(' ', at);
    const std::string_view value(stat.data() + at,
                                 (end == std::string::npos ? stat.size() : end) - at);
    if (field == 4) std::from_chars(value.data(), value.data() + value.size(), out.parent);
    if (field == 22) std::from_chars(value.data(), value.data() + value.size(), out.start);
    if (end == std::string::npos) return field == 22;
    at = end + 1;
  }
  return true;
}

std::vector<Process> all_processes() {
  std::vector<Process> found;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    pid_t pid = 0;
    const auto [end, parse] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (parse != std::errc() || end != name.data() + name.size()) continue;
    Process process;
    if (read_process(pid, process)) found.push_back(process);  // else it ended meanwhile
  }
  return found;
}

bool descends_from(pid_t pid, pid_t ancestor, const std::map<pid_t, pid_t>& parents) {
  // Bounded: the table is a snapshot taken while processes come and go.
  for (std::size_t depth = 0; depth < parents.size() && pid > 1; ++depth) {
    const auto parent = parents.find(pid);
    if (parent == parents.end()) return false;
    if (parent->second == ancestor) return true;
    pid = parent->second;
  }
  return false;
}

bool carries_marker(pid_t pid, const std::string& marker) {
  const std::string proc = "/proc/" + std::to_string(pid);
  struct stat info;
  if (::stat(proc.c_str(), &info) != 0 || info.st_uid != ::geteuid()) return false;
  const std::string environment = read_file(proc + "/environ");
  std::size_t at = 0;
  while (at < environment.size()) {
    auto end = environment.find('\0', at);
    if (end == std::string::npos) end = environment.size();
    if (environment.compare(at, end - at, marker) == 0) return true;
    at = end + 1;
  }
  return false;
}

void make_removable(const fs::path& path) {
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) return;
  ::chmod(path.c_str(), S_IRWXU);
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(path, error))
    make_removable(entry.path());
}

}  // namespace

std::string delivery_marker(const fs::path& dir) {
  return "GPUX_DELIVERY_DIR=" + dir.string();
}

std::uint32_t end_processes(pid_t ancestor, const std::string& marker, bool reap) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::set<std::pair<pid_t, unsigned long long>> killed, unkillable;
  std::uint32_t count = 0;
  for (;;) {
    if (reap)
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
    const std::vector<Process> processes = all_processes();
    std::map<pid_t, pid_t> parents;
    for (const Process& p : processes)
      parents[p.pid] = p.parent;
    std::vector<Process> targets;
    for (const Process& p : processes) {
      // A zombie is dead already; its parent (or we, its subreaper) reaps it.
      if (p.pid == ::getpid() || p.state == 'Z' || p.state == 'X') continue;
      if (unkillable.count({p.pid, p.start}) != 0) continue;
      if ((ancestor > 0 && descends_from(p.pid, ancestor, parents)) ||
          carries_marker(p.pid, marker))
        targets.push_back(p);
    }
    if (targets.empty()) return count;
    if (std::chrono::steady_clock::now() > give_up) {
      std::cerr << "gpux-delivery: gave up ending " << targets.size()
                << " processes still alive after 10 s (first: " << targets.front().pid << " "
                << targets.front().name << ")\n";
      return count;
    }
    for (const Process& p : targets) {
      if (::kill(p.pid, SIGKILL) == 0) {
        if (killed.insert({p.pid, p.start}).second && p.name != "sshd") ++count;
      } else if (errno == EPERM) {
        unkillable.insert({p.pid, p.start});
        std::cerr << "gpux-delivery: may not kill process " << p.pid << " " << p.name << "\n";
      }
    }
    // SIGKILL takes effect asynchronously; look again once they had time to die.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void remove_tree(const fs::path& path) {
  make_removable(path);
  fs::remove_all(path);
}

void write_file_atomically(const fs::path& path, const std::string& text, mode_t mode) {
  const fs::path temporary = path.string() + ".new";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    throw std::runtime_error("cannot write " + temporary.string() + ": " + std::strerror(errno));
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      throw std::runtime_error("cannot write " + temporary.string() + ": " + std::strerror(error));
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot rename " + temporary.string() + ": " + std::strerror(errno));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace gpux::delivery
