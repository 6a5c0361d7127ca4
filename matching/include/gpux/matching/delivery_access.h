// How a buyer reaches the GPUs it bought (issue 25): at delivery start the
// provider's agent opens access for each obligation and reports where; at
// the hour's end it revokes it. Both are journaled (RecordDelivery), so the
// journal alone says who could reach what, and when.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gpux::matching {

enum class DeliveryStage : std::uint8_t {
  none,     // nothing reported yet
  opened,   // the endpoint answers for the buyer's keys (reported again after an agent restart)
  failed,   // the provider could not open access; `detail` says why
  revoked,  // the hour is over: access ended and the buyer's processes with it (final)
};

inline constexpr std::size_t kMaxDeliveryHostBytes = 255;
inline constexpr std::size_t kMaxDeliveryUserBytes = 64;
inline constexpr std::size_t kMaxDeliveryFingerprintBytes = 128;
inline constexpr std::size_t kMaxDeliveryDetailBytes = 512;

// An obligation's access, as the provider's agent last reported it.
struct DeliveryAccess {
  DeliveryStage stage = DeliveryStage::none;
  std::string host;  // opened: where the buyer connects (SSH)
  std::uint16_t port = 0;
  std::string user;
  std::string host_key_fingerprint;   // "SHA256:...", for the buyer to pin
  std::string detail;                 // failed: why; revoked: what ended
  std::uint32_t processes_ended = 0;  // revoked: the buyer's processes the agent killed
  bool operator==(const DeliveryAccess&) const = default;
};

// Whether `access` is a report the engine accepts: a stage other than none;
// opened with a host, a port, a user and a SHA256 fingerprint, host and
// user safe to paste into a shell (letters, digits and .:- or ._-, no
// leading '-'); every field within its bound and printable. Returns the
// first rule broken, or null.
const char* delivery_access_problem(const DeliveryAccess& access);

const char* to_string(DeliveryStage stage);

}  // namespace gpux::matching
