#include "gpux/matching/delivery_access.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace gpux::matching {
namespace {

// Printable ASCII only: these fields reach FIX messages, reports and logs.
bool printable(const std::string& s, std::size_t max_bytes) {
  return s.size() <= max_bytes &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// What a buyer pastes into a shell (`ssh -p PORT USER@HOST`): no room for
// a second command, or an option.
bool shell_safe(const std::string& s, const char* allowed) {
  return !s.empty() && s.front() != '-' && std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr(allowed, c);
  });
}

}  // namespace

const char* delivery_access_problem(const DeliveryAccess& access) {
  if (access.stage == DeliveryStage::none) return "no stage";
  if (!printable(access.host, kMaxDeliveryHostBytes)) return "host too long or not printable";
  if (!printable(access.user, kMaxDeliveryUserBytes)) return "user too long or not printable";
  if (!printable(access.host_key_fingerprint, kMaxDeliveryFingerprintBytes))
    return "host key fingerprint too long or not printable";
  if (!printable(access.detail, kMaxDeliveryDetailBytes)) return "detail too long or not printable";
  if (access.stage == DeliveryStage::opened) {
    if (access.host.empty() || access.port == 0 || access.user.empty())
      return "opened without host, port and user";
    if (!shell_safe(access.host, ".:-")) return "host: letters, digits, '.', ':' and '-' only";
    if (!shell_safe(access.user, "._-")) return "user: letters, digits, '.', '_' and '-' only";
    if (access.host_key_fingerprint.rfind("SHA256:", 0) != 0)
      return "opened without a SHA256 host key fingerprint";
  }
  return nullptr;
}

const char* to_string(DeliveryStage stage) {
  switch (stage) {
    case DeliveryStage::none:
      return "none";
    case DeliveryStage::opened:
      return "opened";
    case DeliveryStage::failed:
      return "failed";
    case DeliveryStage::revoked:
      return "revoked";
  }
  return "?";
}

}  // namespace gpux::matching
