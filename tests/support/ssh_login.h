// SSH logins for the delivery tests: a fresh key pair, a command run over
// ssh (no host-key prompt: the tests pin nothing), and whether a process
// the buyer left has ended.
#pragma once

#include <doctest/doctest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "run_command.h"

namespace gpux::test {

struct SshKey {
  std::filesystem::path file;  // the private key
  std::string public_line;
};

inline SshKey make_ssh_key(const std::filesystem::path& dir, const std::string& name) {
  const std::filesystem::path file = dir / name;
  const CommandResult made =
      run_command("ssh-keygen -q -t ed25519 -N '' -C " + name + " -f " + file.string());
  REQUIRE_MESSAGE(made.status == 0, made.output);
  std::ifstream in(file.string() + ".pub");
  std::string line;
  std::getline(in, line);
  return {file, line};
}

// ssh to user@host:port with `key`, up to where the remote command goes.
inline std::string ssh_command(const SshKey& key, const std::string& user, const std::string& host,
                               int port) {
  return "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
         "-o LogLevel=ERROR -o ConnectTimeout=5 -i " +
         key.file.string() + " -p " + std::to_string(port) + " " + user + "@" + host;
}

// Runs `command` remotely; it must not contain a single quote.
inline CommandResult ssh_run(const SshKey& key, const std::string& user, const std::string& host,
                             int port, const std::string& command) {
  return run_command(ssh_command(key, user, host, port) + " '" + command + "'");
}

// Dead, or dead and not yet reaped.
inline bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto name_end = stat.rfind(')');
  return name_end != std::string::npos && name_end + 2 < stat.size() && stat[name_end + 2] == 'Z';
}

}  // namespace gpux::test
