// gpuxd's configuration file: `key = value` lines, `#` comments. Settings
// have defaults; bootstrap lines (participants, instruments, capacity) are
// turned into commands that run once, when the journal is empty.
#pragma once

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpux/gateway/calendar.h"
#include "gpux/gateway/pipeline.h"
#include "gpux/matching/commands.h"

namespace gpux::gateway {

// Names the file, line and key that are wrong.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct FixClient {
  matching::ParticipantId participant = 0;
  std::string password_hash;          // `gpuxd --hash-password`; empty: no password required
  bool cancel_on_disconnect = false;  // the participant's orders, when the session ends
};

struct FixConfig {
  int port = 0;                  // 0: no FIX acceptor
  std::string comp_id = "GPUX";  // the exchange's CompID
  int max_messages_per_second = 1000;
  std::uint64_t checkpoint_every = 100'000;  // durable commands between gateway checkpoints
  std::map<std::string, FixClient> clients;  // by SenderCompID
};

// A provider whose delivery challenges gpuxd answers itself (see
// verification_driver.h), for the demo and tests until providers run agents.
struct SimulatedProvider {
  std::uint32_t skip_per_mille = 0;       // cheat: tiles left uncomputed
  std::uint32_t memory_per_mille = 1000;  // cheat: dataset kept, of the class's
};

struct VerificationConfig {
  std::map<matching::ParticipantId, SimulatedProvider> simulated;
  std::int64_t challenge_ms = 1000;  // nominal honest work per challenge
};

struct DaemonConfig {
  PipelineOptions pipeline;
  std::vector<matching::CommandBody> bootstrap;
  Calendar calendar;
  FixConfig fix;
  VerificationConfig verification;
};

DaemonConfig load_config(const std::filesystem::path& file);
DaemonConfig parse_config(const std::string& text, const std::string& origin);

// The documented keys and their defaults, for --help.
const char* config_reference();

}  // namespace gpux::gateway
