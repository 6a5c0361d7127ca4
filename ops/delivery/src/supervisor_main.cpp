// gpux-delivery-supervisor DIR END SSHD: keeps one delivery's sshd
// (DIR/sshd_config) running until END (Unix seconds) or SIGTERM, then ends
// sshd and every process of the buyer's sessions, removes DIR/home, writes
// how many processes it ended to DIR/ended and exits. Started by
// DeliveryHost::open(); detaches at once (forks, the parent exits once
// DIR/supervisor.pid is written), so it lives in its own session, survives
// the agent's SIGKILL, and access lasts until its end whatever the agent does.
// It is a child subreaper: a buyer's process that double-forks or calls
// setsid still ends up its descendant, where revocation finds it.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "delivery_state.h"

namespace fs = std::filesystem;
using namespace gpux::delivery;

namespace {

constexpr const char* kName = "gpux-delivery-supervisor";

// sshd gets a clean environment with the delivery's mark; its sessions get
// theirs from sshd_config.
pid_t spawn_sshd(const fs::path& sshd, const fs::path& dir, const std::string& marker) {
  const std::string config = (dir / kSshdConfig).string();
  const char* const argv[] = {sshd.c_str(), "-D", "-e", "-f", config.c_str(), nullptr};
  const std::string path = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  const char* const envp[] = {path.c_str(), marker.c_str(), nullptr};
  SpawnSettings spawn;
  pid_t pid = -1;
  const int error = ::posix_spawn(&pid, sshd.c_str(), &spawn.actions, &spawn.attributes,
                                  const_cast<char* const*>(argv), const_cast<char* const*>(envp));
  if (error != 0) {
    std::cerr << kName << ": cannot start " << sshd.string() << ": " << std::strerror(error)
              << "\n";
    return -1;
  }
  return pid;
}

// Waits for the end, a revocation or sshd's exit, whichever comes first.
void wait_for_the_end(std::int64_t end, pid_t sshd, const sigset_t& signals) {
  using namespace std::chrono;
  for (;;) {
    const auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    if (now >= end * 1000) return;
    // At most a second at a time: the end is wall-clock time, which may be set meanwhile.
    const auto wait = std::min<std::int64_t>(end * 1000 - now, 1000);
    const timespec timeout{static_cast<time_t>(wait / 1000),
                           static_cast<long>(wait % 1000) * 1000000};
    const int signal = ::sigtimedwait(&signals, nullptr, &timeout);
    if (signal == SIGTERM || signal == SIGINT) return;
    if (signal != SIGCHLD) continue;
    // Also the buyer's orphans, whose subreaper this process is.
    int status = 0;
    for (pid_t child; (child = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      if (child != sshd) continue;
      std::cerr << kName << ": sshd exited ("
                << (WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                                      : "signal " + std::to_string(WTERMSIG(status)))
                << ")\n";
      return;
    }
  }
}

int supervise(const fs::path& dir, std::int64_t end, const fs::path& sshd_path,
              const sigset_t& signals) {
  const std::string marker = delivery_marker(dir);
  const pid_t sshd = spawn_sshd(sshd_path, dir, marker);
  if (sshd > 0) {
    wait_for_the_end(end, sshd, signals);
    ::kill(sshd, SIGKILL);  // first: no new session starts while the others end
  }
  const std::uint32_t ended = end_processes(::getpid(), marker, /*reap=*/true);
  int status = 0;
  try {
    remove_tree(dir / kHome);
  } catch (const std::exception& error) {
    std::cerr << kName << ": " << error.what() << "\n";
    status = 1;
  }
  try {
    write_file_atomically(dir / kEnded, std::to_string(ended) + "\n", 0600);
  } catch (const std::exception& error) {
    std::cerr << kName << ": " << error.what() << "\n";
    status = 1;
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t end = 0;
  const std::string_view end_text = argc == 4 ? argv[2] : "";
  const auto parsed = std::from_chars(end_text.data(), end_text.data() + end_text.size(), end);
  if (argc != 4 || parsed.ec != std::errc() || parsed.ptr != end_text.data() + end_text.size()) {
    std::cerr << "usage: " << kName << " DIR END SSHD\n";
    return 2;
  }
  const fs::path dir = argv[1];
  const fs::path sshd = argv[3];
  // The agent's descriptors (sockets, files) are not this process's to hold open.
  ::close_range(3, ~0U, 0);
  // Handled by sigtimedwait, so blocked from here on (also in the child);
  // whatever mask the agent's thread had is replaced.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGCHLD);
  ::sigprocmask(SIG_SETMASK, &signals, nullptr);
  ::signal(SIGHUP, SIG_IGN);

  int ready[2];
  if (::pipe(ready) != 0) {
    std::cerr << kName << ": pipe: " << std::strerror(errno) << "\n";
    return 1;
  }
  const pid_t child = ::fork();
  if (child < 0) {
    std::cerr << kName << ": fork: " << std::strerror(errno) << "\n";
    return 1;
  }
  if (child > 0) {
    // The parent's exit status tells the agent whether supervisor.pid names a supervisor.
    ::close(ready[1]);
    char byte = 0;
    ::_exit(::read(ready[0], &byte, 1) == 1 ? 0 : 1);
  }
  ::close(ready[0]);
  ::setsid();
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    std::cerr << kName << ": PR_SET_CHILD_SUBREAPER: " << std::strerror(errno) << "\n";
    return 1;
  }
  try {
    write_file_atomically(dir / kSupervisorPid, std::to_string(::getpid()) + "\n", 0600);
  } catch (const std::exception& error) {
    std::cerr << kName << ": " << error.what() << "\n";
    return 1;
  }
  if (::write(ready[1], "1", 1) != 1) return 1;
  ::close(ready[1]);
  return supervise(dir, end, sshd, signals);
}
