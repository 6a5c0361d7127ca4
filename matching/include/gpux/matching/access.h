// Who may reach the market: FIX seats and registered providers. They are
// engine state like cash and orders, so that the journal alone says who could
// trade at any sequence, a standby rebuilds them by replay, and the state
// hash covers them. The engine checks their form and ownership; the
// gateways enforce them (a seat's password at Logon, a provider's token).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gpux/matching/types.h"

namespace gpux::matching {

// Names (a seat's SenderCompID, a provider's name) are 1 to 64 letters,
// digits, '-', '_' or '.'; stored secrets are at most 256 characters.
inline constexpr std::size_t kMaxAccessName = 64;
inline constexpr std::size_t kMaxAccessSecret = 256;

// A FIX seat: a SenderCompID that may log on and trade as its participant.
struct Seat {
  std::string sender_comp_id;
  ParticipantId participant = 0;
  // libsodium crypto_pwhash_str of its password. Empty: it cannot log on
  // until one is set, unless no_password.
  std::string password_hash;
  bool no_password = false;  // anyone who reaches the FIX port may use it
  bool cancel_on_disconnect = false;
  bool enabled = true;  // false: logged out and refused until enabled again
  bool operator==(const Seat&) const = default;
};

// GPUs a provider proved (at qualification, all at once) and offers in one
// region as one class.
struct ProvenGpus {
  std::string gpu_class;
  std::string region;
  std::uint32_t count = 0;
  bool operator==(const ProvenGpus&) const = default;
};

// A provider registered through the provider API.
struct ProviderRecord {
  ParticipantId participant = 0;
  std::string name;                // unique among providers
  std::string region;              // where it registered
  std::string token_hash;          // SHA-256 of its API token (32 bytes), never the token
  std::string fix_sender_comp_id;  // its seat; empty: none
  std::vector<ProvenGpus> gpus;
  bool operator==(const ProviderRecord&) const = default;
};

// Whether `name` is a valid seat or provider name.
bool valid_access_name(const std::string& name);

}  // namespace gpux::matching
