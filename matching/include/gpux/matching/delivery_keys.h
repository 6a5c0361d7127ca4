// A buyer's delivery profile: the SSH public keys that its deliveries let
// in (issue 25). Journaled, so that the grants a provider receives at
// delivery start follow from the journal alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpux::matching {

inline constexpr std::size_t kMaxDeliveryKeys = 16;         // per participant
inline constexpr std::size_t kMaxDeliveryKeyBytes = 4'096;  // a line, comment included

// The rules an OpenSSH public key line ("TYPE BASE64 [COMMENT]") must
// follow, in the order they are checked; one result per rule.
enum class DeliveryKeyProblem : std::uint8_t {
  none,
  too_long,       // above kMaxDeliveryKeyBytes
  not_one_line,   // empty, a control character (a newline: two keys at once) or not ASCII
  unknown_type,   // not ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa or an sk- key
  bad_base64,     // the key's body is not base64, or is missing
  type_mismatch,  // the body names another type than the line does
  key_too_weak,   // an RSA key below 2048 bits
};

// The first rule `line` breaks (none: a key gpux accepts).
DeliveryKeyProblem check_delivery_key(std::string_view line);

// The key of an OpenSSH public key line ("TYPE BASE64 [COMMENT]"): its
// body decoded, when that names the line's type first; none otherwise. Any
// type, a host key's too: what check_delivery_key reads, and what a key's
// SHA256 fingerprint is the hash of.
std::optional<std::vector<std::uint8_t>> ssh_key_blob(std::string_view line);

// "TYPE BASE64" of a valid key line: what identifies the key, without its
// comment. Two lines with the same identity are the same key.
std::string delivery_key_identity(std::string_view line);

const char* to_string(DeliveryKeyProblem problem);

}  // namespace gpux::matching
