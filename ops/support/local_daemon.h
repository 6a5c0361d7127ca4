// A gpuxd on this machine, reached over loopback TCP: free ports, readiness,
// starting and stopping the process. Shared by the FIX benchmark and the FIX
// tests; plain POSIX and C++14, so QuickFIX units can include it.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace gpux {
namespace local {

inline sockaddr_in loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return address;
}

// The kernel's range for the local ports of outgoing connections; a port
// outside it is never taken by some process's connect() between our check
// and the daemon's bind (the race that made a test's gpuxd fail to bind).
inline std::pair<int, int> ephemeral_port_range() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768, high = 60999;  // Linux's defaults
  in >> low >> high;
  return {low, high};
}

inline bool can_bind(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);  // as gpuxd binds
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return bound;
}

// A port nobody listens on right now, outside the ephemeral range, drawn at
// random so that tests running side by side rarely draw the same one.
inline int free_port() {
  const auto range = ephemeral_port_range();
  std::vector<int> spans;  // [first, last] pairs outside the range
  if (range.first > 10001) spans.insert(spans.end(), {10000, range.first - 1});
  if (range.second < 65000) spans.insert(spans.end(), {range.second + 1, 65535});
  std::random_device seed;
  std::mt19937 draw(seed() ^ static_cast<unsigned>(::getpid()));
  for (int attempt = 0; attempt < 200 && !spans.empty(); ++attempt) {
    const std::size_t span = 2 * (draw() % (spans.size() / 2));
    const int port = spans[span] + static_cast<int>(draw() % (spans[span + 1] - spans[span] + 1));
    if (can_bind(port)) return port;
  }
  // No room outside the range: let the kernel pick, and accept the race.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = loopback(0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A connected socket to `host` (an IPv4 address), or -1. `source`, when
// given, is the local IPv4 address to connect from (any of 127.0.0.0/8
// reaches loopback).
inline int connect_to(int port, const char* source = nullptr, const char* host = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (source != nullptr) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source, &from.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in address = loopback(port);
  if (::inet_pton(AF_INET, host, &address.sin_addr) != 1) {
    ::close(fd);
    return -1;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return fd;
  ::close(fd);
  return -1;
}

inline bool accepts_connections(int port, const char* host = "127.0.0.1") {
  const int fd = connect_to(port, nullptr, host);
  if (fd >= 0) ::close(fd);
  return fd >= 0;
}

// Whether something listens on `port` within `seconds` (a daemon starting).
inline bool wait_for_listener(int port, int seconds = 30, const char* host = "127.0.0.1") {
  for (int waited_ms = 0; waited_ms < seconds * 1000; waited_ms += 10) {
    if (accepts_connections(port, host)) return true;
    ::poll(nullptr, 0, 10);
  }
  return accepts_connections(port);
}

// Starts `binary --config config` with stdin from /dev/null and stderr
// appended to `log`; its pid, or -1 when it cannot be started.
inline pid_t spawn_daemon(const std::string& binary, const std::string& config,
                          const std::string& log) {
  std::vector<std::string> args = {binary, "--config", config};
  std::vector<char*> argv;
  for (std::string& a : args)
    argv.push_back(&a[0]);
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return error == 0 ? pid : -1;
}

// Sends `signal` and reaps the process; its status as waitpid reports it.
inline int stop_daemon(pid_t pid, int signal) {
  if (pid <= 0) return 0;  // kill(-1, ...) would signal every process the user may
  ::kill(pid, signal);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

}  // namespace local
}  // namespace gpux
