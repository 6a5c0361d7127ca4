// The provider agent's side of delivery: when a buyer's hour starts, open SSH
// access for exactly that buyer's keys and exactly its GPUs until exactly the
// grant's end, needing no root. Each delivery is one OpenSSH server run as the
// agent's own user under a gpux-delivery-supervisor process, which outlives
// the agent (a restarted agent finds it), ends access at the end time on its
// own, and on revocation kills every process of the buyer's sessions.
//
// State lives in root/<trade>/: host_key, authorized_keys, sshd_config,
// session (the forced command), home/ (the buyer's working directory),
// supervisor.pid, log (sshd's and the supervisor's stderr), endpoint, ended.
//
// One DeliveryHost per root; its calls may come from several threads (they
// are serialised). The agent may be multithreaded: processes are started with
// posix_spawn, never fork without exec.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gpux::delivery {

struct Grant {
  std::uint64_t trade = 0;          // the obligation (its trade id)
  std::vector<std::string> keys;    // the buyer's OpenSSH public key lines; none: nobody logs in,
                                    // but the endpoint still answers (access checks pass)
  std::vector<std::uint32_t> gpus;  // device indices granted: CUDA_VISIBLE_DEVICES=0,1,...
  std::int64_t end = 0;             // Unix seconds: access ends then, whatever else happens
};

struct Endpoint {
  std::string host;  // the address sshd listens on
  std::uint16_t port = 0;
  std::string user;                  // the agent's user name: the buyer logs in as it
  std::string host_key_fingerprint;  // "SHA256:..." as ssh-keygen -l prints it
};

struct Revocation {
  std::uint32_t processes_ended = 0;  // the buyer's processes killed (not counting sshd itself)
  bool was_open = false;  // false: access had already ended (at its end time) or never opened
};

// Why access could not be opened; the message names the trade and the cause
// (sshd's own error lines where there are some).
class ProvisionError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "0,1,3": the GPUs as CUDA_VISIBLE_DEVICES lists them.
std::string visible_devices(const std::vector<std::uint32_t>& gpus);

class DeliveryHost {
 public:
  struct Options {
    // The state directory, created when missing; its path only of letters,
    // digits and /._-+=,:@ (it goes into sshd_config unquoted).
    std::filesystem::path root;
    std::string listen_address = "127.0.0.1";
    std::filesystem::path sshd = "/usr/sbin/sshd";  // absolute, as sshd requires
    std::filesystem::path supervisor;  // gpux-delivery-supervisor; empty: next to /proc/self/exe
  };

  explicit DeliveryHost(Options options);

  // Opens access for the grant and returns its endpoint once sshd listens
  // (within 10 s). A trade already open with a live supervisor, also one
  // opened by a previous agent process, is reported again, not restarted,
  // its keys replaced by the grant's (a login under a removed key that is
  // already in progress goes on until the end or a revocation). A
  // trade whose supervisor died before its end (a crash, a reboot) is opened
  // again with the same host key and home. Throws ProvisionError: trade 0,
  // no GPUs, an end already past, a malformed key, sshd missing or failing.
  Endpoint open(const Grant& grant);

  // Ends access now: sshd stopped, every process of the delivery's sessions
  // killed, its home and state removed. Idempotent: a trade with no state
  // gives {0, false}. A delivery that ended by itself at its end time is
  // reported with the count of processes its supervisor ended then. Throws
  // std::filesystem::filesystem_error only when its state cannot be removed.
  Revocation revoke(std::uint64_t trade);

  // Revokes every delivery in root whose end <= now (open, or ended by
  // itself and not yet revoked); returns them in trade order.
  std::vector<std::pair<std::uint64_t, Revocation>> revoke_ended(std::int64_t now);

  // The trades whose access is open now (a live supervisor), in order.
  std::vector<std::uint64_t> open_trades() const;

 private:
  Options options_;
  mutable std::mutex mutex_;
};

}  // namespace gpux::delivery
