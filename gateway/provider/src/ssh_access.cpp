// SSH key fingerprints and the exchange's access check. The check runs
// Debian's ssh-keyscan (openssh-client) rather than speaking SSH itself: the
// key exchange that makes a server prove it holds its host key is OpenSSH's
// to get right. ssh-keyscan says nothing about why it got no key, so a plain
// TCP connect first tells a refused or silent port from a server that is not
// SSH or presents another key.
#include "gpux/provider/ssh_access.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "gpux/matching/delivery_keys.h"

extern char** environ;

namespace gpux::provider {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// An RSA key of 16,384 bits, OpenSSH's largest, is about 2,800 characters.
constexpr std::size_t kMaxLineBytes = 16384;

std::string base64_encode_unpadded(const unsigned char* data, std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < size; i += 3) {
    const std::size_t n = std::min<std::size_t>(3, size - i);
    std::uint32_t bits = static_cast<std::uint32_t>(data[i]) << 16;
    if (n > 1) bits |= static_cast<std::uint32_t>(data[i + 1]) << 8;
    if (n > 2) bits |= data[i + 2];
    for (std::size_t k = 0; k <= n; ++k)
      out.push_back(kBase64[(bits >> (18 - 6 * k)) & 63]);
  }
  return out;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// The next blank-separated field of `rest`, which is advanced past it.
std::string_view next_field(std::string_view& rest) {
  std::size_t start = 0;
  while (start < rest.size() && is_blank(rest[start]))
    ++start;
  std::size_t end = start;
  while (end < rest.size() && !is_blank(rest[end]))
    ++end;
  const std::string_view field = rest.substr(start, end - start);
  rest.remove_prefix(end);
  return field;
}

std::string endpoint_name(const std::string& host, std::uint16_t port) {
  return host + ":" + std::to_string(port);
}

long long remaining_ms(Clock::time_point deadline) {
  return std::max<long long>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
}

// "" when a TCP connection to host:port opens before the deadline, else why not.
std::string tcp_reachable(const std::string& host, std::uint16_t port, Clock::time_point deadline) {
  // An IP address, never a name: a lookup could outlast the deadline, and
  // ssh-keyscan, looking it up again, could reach another address than the
  // one connected to. Agents report their delivery_address, numeric.
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int resolved = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (resolved == EAI_NONAME) return "the endpoint's host " + host + " is not an IP address";
  if (resolved != 0) return std::string("cannot resolve ") + host + ": " + gai_strerror(resolved);
  std::string why = "no address";
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      why = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    int error = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(remaining_ms(deadline)));
        socklen_t size = sizeof error;
        if (ready == 1) {
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
        } else {
          error = ETIMEDOUT;
        }
      }
    }
    ::close(fd);
    if (error == 0) {
      ::freeaddrinfo(found);
      return "";
    }
    why = error == ETIMEDOUT ? "connection timed out" : std::strerror(error);
  }
  ::freeaddrinfo(found);
  return "cannot connect to " + endpoint_name(host, port) + ": " + why;
}

}  // namespace

std::string tcp_reachable(const std::string& host, std::uint16_t port,
                          std::chrono::milliseconds timeout) {
  return tcp_reachable(host, port, Clock::now() + timeout);
}

namespace {

struct Output {
  std::string out, err;
  bool timed_out = false;
};

// Runs `argv` (found on PATH) with stdin from /dev/null and collects what it
// prints; killed at the deadline. The caller may be multithreaded: spawn, not
// fork; pipes close-on-exec so no other thread's child holds them open.
Output run_until(const std::vector<std::string>& argv, Clock::time_point deadline) {
  std::array<int, 2> out_pipe{-1, -1}, err_pipe{-1, -1};
  if (::pipe2(out_pipe.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (::pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  // None of gpuxd's sockets: Asio's and QuickFIX's are not close-on-exec, and
  // ssh-keyscan would hold its listeners and clients' connections.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  // The caller's blocked or ignored signals are not the child's business.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  Output result;
  if (spawned != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(spawned));
  }
  std::array<pollfd, 2> fds{pollfd{out_pipe[0], POLLIN, 0}, pollfd{err_pipe[0], POLLIN, 0}};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  int open_pipes = 2;
  while (open_pipes > 0) {
    const long long left = remaining_ms(deadline);
    if (left == 0 || ::poll(fds.data(), fds.size(), static_cast<int>(left)) == 0) {
      result.timed_out = true;
      break;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
      }
    }
  }
  for (const pollfd& p : fds)
    if (p.fd >= 0) ::close(p.fd);
  if (result.timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

}  // namespace

std::string ssh_fingerprint(std::string_view line) {
  if (line.size() > kMaxLineBytes) throw std::invalid_argument("SSH public key line too long");
  for (const char c : line) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f)
      throw std::invalid_argument("SSH public key line contains a control character");
  }
  // The blob names its own type first: a line whose TYPE disagrees, or that
  // starts with options, is refused here.
  const auto blob = matching::ssh_key_blob(line);
  if (!blob)
    throw std::invalid_argument(
        "not an OpenSSH public key line (\"TYPE BASE64 [comment]\") holding a key of its TYPE");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_Digest(blob->data(), blob->size(), digest, &digest_size, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return "SHA256:" + base64_encode_unpadded(digest, digest_size);
}

AccessCheck check_access(const std::string& host, std::uint16_t port,
                         const std::string& expected_fingerprint,
                         std::chrono::milliseconds timeout) {
  const std::string where = endpoint_name(host, port);
  try {
    // ssh-keyscan would read a host starting with '-' as an option.
    if (host.empty() || host.front() == '-' || port == 0)
      return {false, "not an endpoint: \"" + where + "\""};
    const auto deadline = Clock::now() + timeout;
    if (std::string why = tcp_reachable(host, port, deadline); !why.empty()) return {false, why};
    // -T is whole seconds; the deadline above bounds the run anyway.
    const long long seconds = std::max<long long>(1, (remaining_ms(deadline) + 999) / 1000);
    const Output keyscan = run_until(
        {"ssh-keyscan", "-T", std::to_string(seconds), "-p", std::to_string(port), "--", host},
        deadline);
    std::vector<std::string> seen;
    std::string_view lines = keyscan.out;
    while (!lines.empty()) {
      const auto end = lines.find('\n');
      std::string_view line = lines.substr(0, end);
      lines.remove_prefix(end == std::string_view::npos ? lines.size() : end + 1);
      if (line.empty() || line.front() == '#') continue;
      next_field(line);  // "[host]:port"
      try {
        seen.push_back(ssh_fingerprint(line));
      } catch (const std::invalid_argument&) {
        continue;  // a line we cannot read is no key: the check fails below unless another passes
      }
      if (seen.back() == expected_fingerprint) return {true, seen.back()};
    }
    if (!seen.empty()) {
      std::string presented;
      for (const std::string& f : seen)
        presented += (presented.empty() ? "" : ", ") + f;
      return {false,
              where + " presented host key " + presented + ", expected " + expected_fingerprint};
    }
    const std::string banner = keyscan.err.find("SSH-") != std::string::npos
                                   ? "an SSH server"
                                   : "a server that sent no SSH banner";
    return {false, where + " is " + banner + " but presented no host key within " +
                       std::to_string(timeout.count()) + " ms" +
                       (keyscan.timed_out ? " (timed out)" : "")};
  } catch (const std::exception& error) {
    return {false, "access check of " + where + " failed: " + error.what()};
  } catch (...) {
    return {false, "access check of " + where + " failed"};
  }
}

}  // namespace gpux::provider
