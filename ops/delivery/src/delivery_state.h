// What DeliveryHost and gpux-delivery-supervisor share: the names in a
// delivery's directory, the mark its processes carry, and the means to end
// them and remove what they left.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace gpux::delivery {

// How every process of a delivery is started (posix_spawn: the agent is
// multithreaded): stdin from /dev/null, and the starter's blocked or
// ignored signals reset to the defaults.
struct SpawnSettings {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSettings();
  ~SpawnSettings();
  SpawnSettings(const SpawnSettings&) = delete;
  SpawnSettings& operator=(const SpawnSettings&) = delete;
};

// Files in root/<trade>/.
inline constexpr const char* kHostKey = "host_key";
inline constexpr const char* kAuthorizedKeys = "authorized_keys";
inline constexpr const char* kSshdConfig = "sshd_config";
inline constexpr const char* kSession = "session";  // sshd's ForceCommand
inline constexpr const char* kHome = "home";
inline constexpr const char* kSupervisorPid = "supervisor.pid";
inline constexpr const char* kLog = "log";            // sshd's and the supervisor's stderr
inline constexpr const char* kEndpoint = "endpoint";  // written once sshd listens
inline constexpr const char* kEnded = "ended";        // processes the supervisor ended, at exit

// Every process of a delivery carries "GPUX_DELIVERY_DIR=<its directory>" in
// its environment: sshd gets it from the supervisor, sessions from sshd's
// SetEnv. The directory, not the trade id, since two roots (two agents,
// tests running side by side) may each hold a trade 7.
std::string delivery_marker(const std::filesystem::path& dir);

// SIGKILLs, round after round until none remain, every process other than
// this one that descends from `ancestor` (0: none) or runs as our effective
// user with `marker` in its environment. `reap`: also reap this process's
// children each round (the supervisor, a subreaper, inherits the orphans).
// Gives up after 10 s (processes it may not kill, such as a setuid program
// run by a buyer of a non-root agent), saying so on stderr. Returns how many
// processes it killed, not counting sshd's own.
std::uint32_t end_processes(pid_t ancestor, const std::string& marker, bool reap);

// Removes `path` and everything in it, also directories a buyer made
// unreadable or unwritable. Never follows symbolic links. Throws
// std::filesystem::filesystem_error.
void remove_tree(const std::filesystem::path& path);

// Writes `text` to a temporary file renamed over `path`: a reader sees all of
// it or none. Throws std::runtime_error naming the file.
void write_file_atomically(const std::filesystem::path& path, const std::string& text, mode_t mode);

// The file's contents; "" when it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace gpux::delivery
