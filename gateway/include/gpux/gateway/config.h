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
  // Per connection: more left unread by the client, and it is disconnected.
  std::uint64_t max_unsent_bytes = 16u << 20;
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

// The provider API (provider_service.h): onboarding and provider agents.
struct ProviderApiConfig {
  int port = 0;                                      // 0: none
  std::string operator_token;                        // required with a port: admin calls present it
  matching::ParticipantId first_participant = 1000;  // registered providers are numbered from here
  std::size_t max_connections = 64;
  std::size_t max_frame_bytes = 64u << 20;
  std::int64_t timeout_ms = 30'000;       // a silent peer is dropped after this
  std::int64_t heartbeat_ms = 5'000;      // an idle agent is asked for a heartbeat this often
  std::int64_t qualification_ms = 3'000;  // honest work of a qualification challenge
  // Every challenge uses this verify/ profile instead of the GPU class's own:
  // "cpu-sim" lets simulated providers stand in for real GPUs in demos and tests.
  std::string profile_override;
  // TLS for every connection when both are set (PEM files); plain TCP otherwise.
  std::string tls_certificate;
  std::string tls_key;
};

struct DaemonConfig {
  PipelineOptions pipeline;
  std::vector<matching::CommandBody> bootstrap;
  Calendar calendar;
  FixConfig fix;
  VerificationConfig verification;
  ProviderApiConfig provider;
};

DaemonConfig load_config(const std::filesystem::path& file);
DaemonConfig parse_config(const std::string& text, const std::string& origin);

// The documented keys and their defaults, for --help.
const char* config_reference();

}  // namespace gpux::gateway
