// The provider API's and the verification driver's settings, as gpuxd's
// configuration file sets them (provider_*, simulate_provider, ...; see
// gpuxd --help). Plain values: the daemon parses them, the services read them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gpux/matching/types.h"

namespace gpux::provider {

// A provider whose delivery challenges gpuxd answers itself (see
// verification_driver.h), for the demo and tests until providers run agents.
struct SimulatedProvider {
  std::uint32_t skip_per_mille = 0;       // cheat: tiles left uncomputed
  std::uint32_t memory_per_mille = 1000;  // cheat: dataset kept, of the class's
  std::uint32_t devices = 0;              // cheat: simulated GPUs it runs (0: one per unit it sold)
};

struct VerificationConfig {
  std::map<matching::ParticipantId, SimulatedProvider> simulated;
  std::int64_t challenge_ms = 1000;  // nominal honest work per challenge
};

// The provider API (provider_service.h): onboarding and provider agents.
struct ProviderApiConfig {
  int port = 0;  // 0: none
  // The listener's IPv4 or IPv6 address: loopback unless the operator names
  // an interface's (or 0.0.0.0 / :: for all), so that agents elsewhere reach it.
  std::string address = "127.0.0.1";
  std::string operator_token;
  // (GPU class, region) of the products the calendar lists, beside those
  // already listed: a provider is refused a class or region with neither.
  std::vector<std::pair<std::string, std::string>>
      products;                                      // required with a port: admin calls present it
  matching::ParticipantId first_participant = 1000;  // registered providers are numbered from here
  std::size_t max_connections = 64;
  // Of max_connections, from one source address. On loopback every peer is
  // 127.0.0.1: by default no lower than the whole.
  std::size_t max_connections_per_address = 64;
  std::size_t max_frame_bytes = 64u << 20;
  // A hello carries a token of some dozens of bytes: an unauthenticated
  // peer may not make the exchange read (or hold) more than this.
  std::size_t max_hello_bytes = 4096;
  std::int64_t timeout_ms = 30'000;   // a silent peer is dropped after this
  std::int64_t heartbeat_ms = 5'000;  // an idle agent is asked for a heartbeat this often
  // A delivery round is proved at its instant, or it is missed: an agent
  // that connects (or comes back) later than this after it finds the round
  // failed, so that a provider cannot choose when it is audited. Long
  // enough for an agent's reconnect and for the rounds queued before it.
  std::int64_t round_grace_ms = 30'000;
  std::int64_t qualification_ms = 3'000;  // honest work of a qualification challenge
  // Delivery handover (issue 25): in every round the exchange itself
  // connects to each obligation's reported SSH endpoint and checks that it
  // answers as the reported host key; a unit whose check fails is
  // unverified, as a failed proof is.
  bool access_checks = true;
  std::int64_t access_check_timeout_ms = 5'000;
  // A grant the agent failed to open (a port taken, a slow disk) is sent
  // again this long after, so that a passing problem need not cost the hour.
  std::int64_t grant_retry_ms = 30'000;
  // Every challenge uses this verify/ profile instead of the GPU class's own:
  // "cpu-sim" lets simulated providers stand in for real GPUs in demos and tests.
  std::string profile_override;
  // TLS for every connection when both are set (PEM files); plain TCP otherwise.
  std::string tls_certificate;
  std::string tls_key;
};

}  // namespace gpux::provider
