#include "gpux/delivery/delivery_host.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "delivery_state.h"
#include "gpux/provider/ssh_access.h"

extern char** environ;

namespace gpux::delivery {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kListenTimeout = 10s;
// The supervisor gives up on processes it cannot kill after 10 s.
constexpr auto kStopTimeout = 15s;
// A port found free may be taken before sshd binds it.
constexpr int kPortAttempts = 5;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Polls `done` every 10 ms until it holds or `timeout` passes.
template <typename Predicate>
bool wait_until(Predicate done, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

template <typename Number>
std::optional<Number> parse_number(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.remove_suffix(1);
  Number value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

// The log's lines joined, for an error message (bounded).
std::string log_lines(const fs::path& log) {
  std::string joined;
  const std::string text = read_file(log);
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    const std::string line = trim(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    if (!line.empty()) joined += (joined.empty() ? "" : "; ") + line;
  }
  if (joined.size() > 1000) joined = joined.substr(0, 1000) + "...";
  return joined.empty() ? "(nothing in " + log.string() + ")" : joined;
}

// Paths go into sshd_config and a shell script unquoted: keep to characters
// that mean nothing to either.
bool plain_path(const std::string& path) {
  return std::all_of(path.begin(), path.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-+=,:@", c) != nullptr;
  });
}

std::string agent_user() {
  std::array<char, 4096> buffer;
  passwd entry;
  passwd* found = nullptr;
  if (::getpwuid_r(::geteuid(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr)
    throw ProvisionError("the agent's user (uid " + std::to_string(::geteuid()) +
                         ") has no passwd entry: sshd could not log anyone in as it");
  return entry.pw_name;
}

// A port nobody listens on now at `address` (the kernel's pick for port 0).
std::uint16_t free_port(const std::string& address) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int error = ::getaddrinfo(address.c_str(), "0", &hints, &found); error != 0)
    throw ProvisionError("listen address " + address + ": " + gai_strerror(error));
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage bound{};
  socklen_t size = sizeof bound;
  const bool ok = fd >= 0 && ::bind(fd, found->ai_addr, found->ai_addrlen) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &size) == 0;
  const int error = errno;
  if (fd >= 0) ::close(fd);
  ::freeaddrinfo(found);
  if (!ok) throw ProvisionError("cannot bind " + address + ": " + std::strerror(error));
  return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

struct Spawn : SpawnSettings {
  // Runs `argv` to its end; its exit status, or -1 when a signal ended it.
  int run(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    if (const int error =
            ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
        error != 0)
      throw ProvisionError("cannot run " + argv[0] + ": " + std::strerror(error));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

// Both output streams of what a Spawn runs go to `path`.
void output_to(Spawn& spawn, const fs::path& path) {
  posix_spawn_file_actions_addopen(&spawn.actions, STDOUT_FILENO, path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&spawn.actions, STDOUT_FILENO, STDERR_FILENO);
}

// The supervisor recorded in `dir`, while it lives: not a zombie, and the
// pid not reused by another process (its arguments name `dir`).
std::optional<pid_t> live_supervisor(const fs::path& dir) {
  const auto pid = parse_number<pid_t>(read_file(dir / kSupervisorPid));
  if (!pid || *pid <= 1) return std::nullopt;
  const std::string proc = "/proc/" + std::to_string(*pid);
  const std::string stat = read_file(proc + "/stat");
  const auto name_end = stat.rfind(')');
  if (name_end == std::string::npos || name_end + 2 >= stat.size()) return std::nullopt;
  const char state = stat[name_end + 2];
  if (state == 'Z' || state == 'X') return std::nullopt;
  const std::string arguments = read_file(proc + "/cmdline");
  const auto first_end = arguments.find('\0');
  if (first_end == std::string::npos) return std::nullopt;
  const std::string expected = dir.string() + '\0';
  if (arguments.compare(first_end + 1, expected.size(), expected) != 0) return std::nullopt;
  return pid;
}

// Ends a delivery's processes: its supervisor (told first, killed if it will
// not go) and any process still carrying its mark. Returns how many of the
// buyer's processes ended. The directory stays.
std::uint32_t stop_delivery(const fs::path& dir) {
  if (const auto pid = live_supervisor(dir)) {
    ::kill(*pid, SIGTERM);
    const auto gone = [&dir] { return !live_supervisor(dir); };
    if (!wait_until(gone, kStopTimeout)) {
      ::kill(*pid, SIGKILL);
      wait_until(gone, 1s);
    }
  }
  // Left over when the supervisor was killed (by us, the OOM killer, or an operator).
  const std::uint32_t swept = end_processes(0, delivery_marker(dir), /*reap=*/false);
  return parse_number<std::uint32_t>(read_file(dir / kEnded)).value_or(0) + swept;
}

std::map<std::string, std::string> read_fields(const fs::path& path) {
  std::map<std::string, std::string> fields;
  const std::string text = read_file(path);
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    const auto equals = line.find('=');
    if (equals != std::string_view::npos)
      fields[std::string(line.substr(0, equals))] = std::string(line.substr(equals + 1));
  }
  return fields;
}

// The endpoint recorded in `dir` and its grant's end; nullopt without one.
std::optional<std::pair<Endpoint, std::int64_t>> read_endpoint(const fs::path& dir) {
  auto fields = read_fields(dir / kEndpoint);
  const auto port = parse_number<std::uint16_t>(fields["port"]);
  const auto end = parse_number<std::int64_t>(fields["end"]);
  if (!port || !end) return std::nullopt;
  return std::pair{Endpoint{fields["host"], *port, fields["user"], fields["fingerprint"]}, *end};
}

std::string sshd_config(const Grant& grant, const fs::path& dir, const std::string& address,
                        std::uint16_t port, const std::string& user) {
  const std::string home = (dir / kHome).string();
  std::ostringstream config;
  config << "# gpux delivery of trade " << grant.trade << ", written by the provider agent.\n"
         << "Port " << port << "\n"
         << "ListenAddress " << address << "\n"
         << "HostKey " << (dir / kHostKey).string() << "\n"
         << "AuthorizedKeysFile " << (dir / kAuthorizedKeys).string() << "\n"
         << "AuthorizedPrincipalsFile none\n"
         << "PubkeyAuthentication yes\n"
         << "PasswordAuthentication no\n"
         << "KbdInteractiveAuthentication no\n"
         << "HostbasedAuthentication no\n"
         // Run as the agent's user: no PAM, and the files are the agent's.
         << "UsePAM no\n"
         << "StrictModes no\n"
         << "PidFile none\n"
         << "PermitRootLogin prohibit-password\n"
         << "AllowUsers " << user
         << "\n"
         // The session's environment is the grant's, not what a client or a ~/.ssh/rc says.
         << "PermitUserEnvironment no\n"
         << "PermitUserRC no\n"
         << "SetEnv CUDA_VISIBLE_DEVICES=" << visible_devices(grant.gpus)
         << " GPUX_DELIVERY=" << grant.trade << " " << delivery_marker(dir) << " HOME=" << home
         << " TMPDIR=" << home << "\n"
         << "ForceCommand " << (dir / kSession).string() << "\n"
         << "PermitTTY yes\n"
         << "X11Forwarding no\n"
         << "AllowAgentForwarding no\n"
         << "AllowTcpForwarding no\n"
         << "AllowStreamLocalForwarding no\n"
         << "PermitTunnel no\n"
         << "PrintMotd no\n"
         << "PrintLastLog no\n"
         << "UseDNS no\n";
  return config.str();
}

// sshd's ForceCommand: every session starts in the delivery's home and runs
// what the buyer asked for as sshd would have, with the user's shell.
std::string session_script(const fs::path& dir) {
  std::ostringstream script;
  script << "#!/bin/sh\n"
         << "cd " << (dir / kHome).string() << " || exit 1\n"
         << "if [ -n \"$SSH_ORIGINAL_COMMAND\" ]; then\n"
         << "  exec \"$SHELL\" -c \"$SSH_ORIGINAL_COMMAND\"\n"
         << "fi\n"
         << "exec \"$SHELL\" -l\n";
  return script.str();
}

std::vector<std::uint64_t> trades_in(const fs::path& root) {
  std::vector<std::uint64_t> trades;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(root, error))
    if (const auto trade = parse_number<std::uint64_t>(entry.path().filename().string()))
      trades.push_back(*trade);
  std::sort(trades.begin(), trades.end());
  return trades;
}

}  // namespace

DeliveryHost::DeliveryHost(Options options) : options_(std::move(options)) {
  options_.root = fs::absolute(options_.root).lexically_normal();
  if (options_.supervisor.empty())
    options_.supervisor =
        fs::read_symlink("/proc/self/exe").parent_path() / "gpux-delivery-supervisor";
}

Endpoint DeliveryHost::open(const Grant& grant) {
  const std::string trade = "trade " + std::to_string(grant.trade);
  if (grant.trade == 0) throw ProvisionError("trade 0 is no trade");
  if (grant.gpus.empty()) throw ProvisionError(trade + ": the grant names no GPUs");
  if (const std::int64_t now = unix_now(); grant.end <= now)
    throw ProvisionError(trade + ": the grant ended at " + std::to_string(grant.end) + " (now " +
                         std::to_string(now) + ")");
  std::string authorized_keys;
  for (std::size_t i = 0; i < grant.keys.size(); ++i) {
    const std::string key = trim(grant.keys[i]);
    try {
      provider::ssh_fingerprint(key);
    } catch (const std::invalid_argument& error) {
      throw ProvisionError(trade + ": key " + std::to_string(i + 1) + ": " + error.what());
    }
    authorized_keys += key + "\n";
  }
  if (!options_.sshd.is_absolute() || ::access(options_.sshd.c_str(), X_OK) != 0)
    throw ProvisionError(trade + ": no sshd at " + options_.sshd.string() +
                         " (an absolute path; Debian package openssh-server)");
  if (::access(options_.supervisor.c_str(), X_OK) != 0)
    throw ProvisionError(trade + ": no gpux-delivery-supervisor at " +
                         options_.supervisor.string());
  if (!plain_path(options_.root.string()))
    throw ProvisionError("delivery root " + options_.root.string() +
                         ": only letters, digits and /._-+=,:@ may name it (it goes into "
                         "sshd_config)");
  const std::string user = agent_user();

  std::lock_guard lock(mutex_);
  const fs::path dir = options_.root / std::to_string(grant.trade);
  if (live_supervisor(dir))
    if (const auto recorded = read_endpoint(dir)) {
      // The buyer's keys as the grant has them now: sshd reads the file at
      // each login, so a key removed is refused from the next one on.
      write_file_atomically(dir / kAuthorizedKeys, authorized_keys, 0600);
      return recorded->first;
    }

  // What a dead supervisor (a crash, a reboot) left; its host key and the
  // buyer's home stay for the rest of the hour, even if this reopening fails.
  const bool reopening = fs::exists(dir);
  try {
    if (reopening) {
      stop_delivery(dir);
      for (const char* stale : {kEndpoint, kEnded, kSupervisorPid, kLog})
        fs::remove(dir / stale);
    }
    fs::create_directories(dir / kHome);
    fs::permissions(dir, fs::perms::owner_all);
    fs::permissions(dir / kHome, fs::perms::owner_all);
    // sshd as root insists on its privilege separation directory.
    if (::geteuid() == 0 && !fs::exists("/run/sshd")) {
      fs::create_directories("/run/sshd");
      fs::permissions("/run/sshd", fs::perms::owner_all | fs::perms::group_read |
                                       fs::perms::group_exec | fs::perms::others_read |
                                       fs::perms::others_exec);
    }
    const fs::path host_key = dir / kHostKey;
    if (!fs::exists(host_key)) {
      fs::remove(host_key.string() + ".pub");
      Spawn keygen;
      output_to(keygen, dir / kLog);
      if (keygen.run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                      "gpux-delivery-" + std::to_string(grant.trade), "-f", host_key.string()}) !=
          0)
        throw ProvisionError(trade + ": ssh-keygen failed: " + log_lines(dir / kLog));
    }
    Endpoint endpoint{options_.listen_address, 0, user,
                      provider::ssh_fingerprint(trim(read_file(host_key.string() + ".pub")))};
    write_file_atomically(dir / kAuthorizedKeys, authorized_keys, 0600);
    write_file_atomically(dir / kSession, session_script(dir), 0700);

    for (int attempt = 1;; ++attempt) {
      endpoint.port = free_port(options_.listen_address);
      write_file_atomically(dir / kSshdConfig,
                            sshd_config(grant, dir, options_.listen_address, endpoint.port, user),
                            0600);
      Spawn supervisor;
      output_to(supervisor, dir / kLog);
      // The supervisor forks and its parent exits once supervisor.pid is written.
      if (supervisor.run({options_.supervisor.string(), dir.string(), std::to_string(grant.end),
                          options_.sshd.string()}) != 0)
        throw ProvisionError(trade + ": the supervisor did not start: " + log_lines(dir / kLog));
      bool listening = false;
      const auto settled = [&] {
        listening = read_file(dir / kLog).find("Server listening on") != std::string::npos;
        return listening || !live_supervisor(dir);
      };
      if (!wait_until(settled, kListenTimeout))
        throw ProvisionError(trade + ": sshd did not listen within 10 s: " + log_lines(dir / kLog));
      if (listening) break;
      const std::string why = log_lines(dir / kLog);
      if (why.find("Address already in use") == std::string::npos || attempt == kPortAttempts)
        throw ProvisionError(trade + ": sshd failed: " + why);
      stop_delivery(dir);
      fs::remove(dir / kEnded);
      fs::create_directories(dir / kHome);
    }
    write_file_atomically(dir / kEndpoint,
                          "host=" + endpoint.host + "\nport=" + std::to_string(endpoint.port) +
                              "\nuser=" + endpoint.user +
                              "\nfingerprint=" + endpoint.host_key_fingerprint +
                              "\nend=" + std::to_string(grant.end) + "\n",
                          0600);
    return endpoint;
  } catch (const std::exception& error) {
    // Nothing of a half-opened delivery stays running, nor on disk unless
    // it held a buyer's files and a host key the buyer may have pinned.
    stop_delivery(dir);
    if (!reopening) {
      try {
        remove_tree(dir);
      } catch (const std::exception&) {
        // What to report is why opening failed, not this.
      }
    }
    if (dynamic_cast<const ProvisionError*>(&error) != nullptr) throw;
    throw ProvisionError(trade + ": " + error.what());
  }
}

Revocation DeliveryHost::revoke(std::uint64_t trade) {
  std::lock_guard lock(mutex_);
  const fs::path dir = options_.root / std::to_string(trade);
  if (!fs::exists(dir)) return {};
  Revocation revocation;
  revocation.was_open = live_supervisor(dir).has_value();
  revocation.processes_ended = stop_delivery(dir);
  remove_tree(dir);
  return revocation;
}

std::vector<std::pair<std::uint64_t, Revocation>> DeliveryHost::revoke_ended(std::int64_t now) {
  std::vector<std::uint64_t> ended;
  {
    std::lock_guard lock(mutex_);
    for (const std::uint64_t trade : trades_in(options_.root)) {
      const auto recorded = read_endpoint(options_.root / std::to_string(trade));
      if (recorded && recorded->second <= now) ended.push_back(trade);
    }
  }
  std::vector<std::pair<std::uint64_t, Revocation>> revoked;
  for (const std::uint64_t trade : ended)
    revoked.emplace_back(trade, revoke(trade));
  return revoked;
}

std::vector<std::uint64_t> DeliveryHost::open_trades() const {
  std::lock_guard lock(mutex_);
  std::vector<std::uint64_t> open;
  for (const std::uint64_t trade : trades_in(options_.root))
    if (live_supervisor(options_.root / std::to_string(trade))) open.push_back(trade);
  return open;
}

std::string visible_devices(const std::vector<std::uint32_t>& gpus) {
  std::string list;
  for (const std::uint32_t gpu : gpus) {
    if (!list.empty()) list.push_back(',');
    list.append(std::to_string(gpu));
  }
  return list;
}

}  // namespace gpux::delivery
