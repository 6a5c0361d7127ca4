// The provider agent's side of delivery with real sshd processes on
// loopback: the buyer's key logs in during its hour and sees exactly its
// GPUs, another key never does, and after a revocation or the grant's end
// nobody logs in and nothing the buyer left runs or stays on disk. The
// exchange's access check passes only for the reported host key.
#include "gpux/delivery/delivery_host.h"

#include <doctest/doctest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <thread>

#include "eventually.h"
#include "gpux/provider/ssh_access.h"
#include "run_command.h"
#include "ssh_keys.h"
#include "ssh_login.h"
#include "temp_dir.h"

using namespace gpux::test;
using gpux::delivery::DeliveryHost;
using gpux::delivery::Endpoint;
using gpux::delivery::Grant;
using gpux::delivery::ProvisionError;
using gpux::provider::check_access;
using gpux::provider::ssh_fingerprint;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ssh to `at` with `key`, up to where the remote command goes.
std::string ssh_to(const SshKey& key, const Endpoint& at) {
  return ssh_command(key, at.user, at.host, at.port);
}

CommandResult ssh(const SshKey& key, const Endpoint& at, const std::string& command) {
  return ssh_run(key, at.user, at.host, at.port, command);
}

bool refused(const CommandResult& result) {
  return result.status == 255 && (result.output.find("Permission denied") != std::string::npos ||
                                  result.output.find("Connection refused") != std::string::npos);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string agent_user() {
  return ::getpwuid(::geteuid())->pw_name;
}

DeliveryHost::Options options_for(const fs::path& root) {
  DeliveryHost::Options options;
  options.root = root;
  options.supervisor = GPUX_DELIVERY_SUPERVISOR;
  return options;
}

// Revokes a trade when the test ends, also a failed one: its sshd would
// otherwise listen until the grant's end, well after the test.
struct RevokeAtExit {
  DeliveryHost& host;
  std::uint64_t trade;
  ~RevokeAtExit() { host.revoke(trade); }
};

// The buyer leaves two sleepers behind, each writing its pid into the home:
// one in a new session (setsid), one double-forked (its parent exits at once).
std::vector<pid_t> leave_processes(const SshKey& buyer, const Endpoint& at, const fs::path& home) {
  const CommandResult left = ssh(
      buyer, at,
      "echo data > left.txt; "
      "setsid sh -c \"echo \\$\\$ > setsid.pid; exec sleep 600\" </dev/null >/dev/null 2>&1 & "
      "(nohup sh -c \"echo \\$\\$ > forked.pid; exec sleep 600\" </dev/null >/dev/null 2>&1 &)");
  REQUIRE_MESSAGE(left.status == 0, left.output);
  std::vector<pid_t> pids;
  for (const char* file : {"setsid.pid", "forked.pid"}) {
    REQUIRE(
        eventually([&] { return read_text(home / file).find('\n') != std::string::npos; }, 5000ms));
    pids.push_back(std::stoi(read_text(home / file)));
    CHECK_FALSE(process_gone(pids.back()));
  }
  return pids;
}

}  // namespace

TEST_CASE("ssh_fingerprint is what ssh-keygen -l prints; malformed lines are refused") {
  TempDir dir;
  for (const char* line : {kEd25519Keys[0], kEd25519Keys[1], kRsaKey}) {
    const fs::path file = dir.path() / "key.pub";
    std::ofstream(file) << line << "\n";
    const CommandResult listed = run_command("ssh-keygen -lf " + file.string());
    REQUIRE(listed.status == 0);
    // "256 SHA256:... comment (ED25519)"
    const auto start = listed.output.find(' ') + 1;
    CHECK(ssh_fingerprint(line) ==
          listed.output.substr(start, listed.output.find(' ', start) - start));
  }
  const std::string blob = std::string(kEd25519Keys[0]).substr(12, 68);
  const std::vector<std::string> malformed = {
      "",
      "ssh-ed25519",
      "ssh-ed25519 AAAA!AAA",
      "ssh-rsa " + blob,                                   // another type's blob
      "command=\"true\" " + std::string(kEd25519Keys[0]),  // options
      std::string(kEd25519Keys[0]) + "\n" + kEd25519Keys[1]};
  for (const std::string& bad : malformed)
    CHECK_THROWS_AS(ssh_fingerprint(bad), std::invalid_argument);
}

TEST_CASE("a delivery opens for exactly its buyer and GPUs, and its revocation ends everything") {
  TempDir dir;
  const SshKey buyer = make_ssh_key(dir.path(), "buyer");
  const SshKey other = make_ssh_key(dir.path(), "other");
  const fs::path root = dir.path() / "deliveries";
  const fs::path home = root / "7" / "home";
  DeliveryHost host(options_for(root));
  const Grant grant{7, {buyer.public_line}, {2, 3}, unix_now() + 600};
  const RevokeAtExit cleanup{host, 7};

  const Endpoint endpoint = host.open(grant);
  CHECK(endpoint.host == "127.0.0.1");
  CHECK(endpoint.port > 0);
  CHECK(endpoint.user == agent_user());
  const CommandResult listed =
      run_command("ssh-keygen -lf " + (root / "7" / "host_key.pub").string());
  CHECK(listed.output.find(" " + endpoint.host_key_fingerprint + " ") != std::string::npos);

  const CommandResult seen = ssh(buyer, endpoint, "echo $CUDA_VISIBLE_DEVICES; pwd; echo $HOME");
  CHECK(seen.status == 0);
  CHECK(seen.output == "2,3\n" + home.string() + "\n" + home.string() + "\n");
  // An interactive login (a terminal, no command) gets a login shell in the same place. (A
  // non-root sshd can hand out a terminal only where /dev/pts is mounted with gid=5, as on
  // Debian hosts: it may not chown one to group tty itself.)
  const CommandResult login = run_command("printf 'echo $CUDA_VISIBLE_DEVICES:$PWD; exit\\n' | " +
                                          ssh_to(buyer, endpoint) + " -tt");
  CHECK_MESSAGE(login.output.find("2,3:" + home.string()) != std::string::npos, login.output);
  CHECK(refused(ssh(other, endpoint, "true")));

  {  // The access check passes for the reported host key only.
    const auto passed =
        check_access(endpoint.host, endpoint.port, endpoint.host_key_fingerprint, 5s);
    CHECK_MESSAGE(passed.passed, passed.detail);
    CHECK(passed.detail == endpoint.host_key_fingerprint);
    const std::string wrong = ssh_fingerprint(kEd25519Keys[0]);
    const auto failed = check_access(endpoint.host, endpoint.port, wrong, 5s);
    CHECK_FALSE(failed.passed);
    CHECK_MESSAGE(failed.detail.find("expected " + wrong) != std::string::npos, failed.detail);
    // The same server under a name: refused, never looked up.
    const auto named = check_access("localhost", endpoint.port, endpoint.host_key_fingerprint, 5s);
    CHECK_FALSE(named.passed);
    CHECK(named.detail == "the endpoint's host localhost is not an IP address");
  }

  {  // Reported again, not restarted: to the same host and to a restarted agent.
    const Endpoint again = host.open(grant);
    CHECK(again.port == endpoint.port);
    CHECK(again.host_key_fingerprint == endpoint.host_key_fingerprint);
    DeliveryHost restarted(options_for(root));
    CHECK(restarted.open_trades() == std::vector<std::uint64_t>{7});
    const Endpoint reported = restarted.open(grant);
    CHECK(reported.port == endpoint.port);
    CHECK(reported.host == endpoint.host);
    CHECK(reported.user == endpoint.user);
    CHECK(reported.host_key_fingerprint == endpoint.host_key_fingerprint);
  }

  const std::vector<pid_t> left = leave_processes(buyer, endpoint, home);
  const auto revocation = host.revoke(7);
  CHECK(revocation.was_open);
  CHECK(revocation.processes_ended >= left.size());
  for (const pid_t pid : left)
    CHECK_MESSAGE(process_gone(pid), "process " << pid << " survived");
  CHECK_FALSE(fs::exists(home));
  CHECK_FALSE(fs::exists(root / "7"));
  CHECK(refused(ssh(buyer, endpoint, "true")));
  const auto closed = check_access(endpoint.host, endpoint.port, endpoint.host_key_fingerprint, 5s);
  CHECK_FALSE(closed.passed);
  CHECK_MESSAGE(closed.detail.find("refused") != std::string::npos, closed.detail);

  const auto again = host.revoke(7);
  CHECK_FALSE(again.was_open);
  CHECK(again.processes_ended == 0);
  CHECK(host.open_trades().empty());
}

TEST_CASE("access ends at the grant's end with nobody revoking it") {
  TempDir dir;
  const SshKey buyer = make_ssh_key(dir.path(), "buyer");
  const fs::path root = dir.path() / "deliveries";
  const fs::path home = root / "9" / "home";
  DeliveryHost host(options_for(root));
  const RevokeAtExit cleanup{host, 9};
  const std::int64_t end = unix_now() + 3;
  const Endpoint endpoint = host.open({9, {buyer.public_line}, {0}, end});
  const CommandResult seen = ssh(buyer, endpoint, "echo $CUDA_VISIBLE_DEVICES");
  CHECK(seen.output == "0\n");
  const std::vector<pid_t> left = leave_processes(buyer, endpoint, home);
  CHECK(host.revoke_ended(end - 1).empty());

  // The supervisor ends it at `end`, a few seconds from now.
  CHECK(eventually([&] { return !fs::exists(home); }, 10000ms));
  CHECK(unix_now() >= end);
  for (const pid_t pid : left)
    CHECK_MESSAGE(process_gone(pid), "process " << pid << " survived");
  CHECK(refused(ssh(buyer, endpoint, "true")));
  // The supervisor removes the home, writes what it ended, then exits:
  // under ASan its exit (the leak check) can take a while.
  CHECK(eventually([&] { return host.open_trades().empty(); }, 5000ms));
  // The agent reports it with what the supervisor ended.
  const auto revoked = host.revoke_ended(unix_now());
  REQUIRE(revoked.size() == 1);
  CHECK(revoked[0].first == 9);
  CHECK_FALSE(revoked[0].second.was_open);
  CHECK(revoked[0].second.processes_ended >= left.size());
  CHECK_FALSE(fs::exists(root / "9"));
}

TEST_CASE("access outlives an agent killed mid-hour; the restarted agent finds it") {
  TempDir dir;
  const SshKey buyer = make_ssh_key(dir.path(), "buyer");
  const fs::path root = dir.path() / "deliveries";
  const Grant grant{11, {buyer.public_line}, {0, 1, 2, 3, 4, 5, 6, 7}, unix_now() + 600};
  const fs::path port_file = dir.path() / "port";
  const pid_t agent = ::fork();
  REQUIRE(agent >= 0);
  if (agent == 0) {
    // The agent: opens access, says where, and dies without a word.
    try {
      DeliveryHost host(options_for(root));
      std::ofstream(port_file) << host.open(grant).port << "\n";
    } catch (const std::exception& error) {
      std::ofstream(port_file) << error.what() << "\n";
    }
    ::kill(::getpid(), SIGKILL);
  }
  int status = 0;
  REQUIRE(::waitpid(agent, &status, 0) == agent);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
  const std::string written = read_text(port_file);
  REQUIRE_MESSAGE(std::isdigit(static_cast<unsigned char>(written[0])), written);
  const int port = std::stoi(written);

  DeliveryHost restarted(options_for(root));
  const RevokeAtExit cleanup{restarted, 11};
  CHECK(restarted.open_trades() == std::vector<std::uint64_t>{11});
  const Endpoint endpoint = restarted.open(grant);
  CHECK(endpoint.port == port);
  const CommandResult seen = ssh(buyer, endpoint, "echo $CUDA_VISIBLE_DEVICES");
  CHECK(seen.output == "0,1,2,3,4,5,6,7\n");
  CHECK(restarted.revoke(11).was_open);
  CHECK(refused(ssh(buyer, endpoint, "true")));
}

TEST_CASE("a grant that cannot be provisioned is refused with why, and leaves nothing") {
  TempDir dir;
  const fs::path root = dir.path() / "deliveries";
  DeliveryHost host(options_for(root));
  const Grant grant{5, {kEd25519Keys[0]}, {0}, unix_now() + 600};
  const auto refusal = [&](DeliveryHost& h, const Grant& g) {
    try {
      h.open(g);
    } catch (const ProvisionError& error) {
      return std::string(error.what());
    }
    return std::string("(opened)");
  };

  Grant past = grant;
  past.end = unix_now() - 1;
  CHECK(refusal(host, past).find("trade 5: the grant ended at") != std::string::npos);
  Grant bad_key = grant;
  bad_key.keys.push_back("ssh-ed25519 AAAA!");
  CHECK(refusal(host, bad_key).find("trade 5: key 2: ") != std::string::npos);
  Grant no_gpus = grant;
  no_gpus.gpus.clear();
  CHECK(refusal(host, no_gpus).find("names no GPUs") != std::string::npos);

  DeliveryHost::Options missing = options_for(root);
  missing.sshd = dir.path() / "no-sshd";
  DeliveryHost without_sshd(missing);
  CHECK(refusal(without_sshd, grant).find("no sshd at") != std::string::npos);

  // An sshd that fails as a real one does: its error line reaches the agent.
  DeliveryHost::Options failing = options_for(root);
  failing.sshd = dir.path() / "failing-sshd";
  std::ofstream(failing.sshd) << "#!/bin/sh\necho 'fatal: no hostkeys available -- exiting.' >&2\n"
                                 "exit 1\n";
  fs::permissions(failing.sshd, fs::perms::owner_all);
  DeliveryHost broken(failing);
  const std::string why = refusal(broken, grant);
  CHECK_MESSAGE(why.find("trade 5: sshd failed: ") != std::string::npos, why);
  CHECK_MESSAGE(why.find("fatal: no hostkeys available") != std::string::npos, why);
  CHECK_FALSE(fs::exists(root / "5"));
  CHECK(host.open_trades().empty());
}
