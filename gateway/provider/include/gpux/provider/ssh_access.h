// SSH access to a delivery, as the exchange sees it: the fingerprint of a
// public key (what a buyer pins and a provider reports) and the access check,
// in which the exchange itself connects to a provider's endpoint.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace gpux::provider {

// "SHA256:" + unpadded base64 of the SHA-256 of the key blob of an OpenSSH
// public key line "TYPE BASE64 [comment]": exactly what `ssh-keygen -l`
// prints. Throws std::invalid_argument naming what is wrong with the line
// (no key, bad base64, a blob of another type, control characters: a line
// that could smuggle a second key or options into an authorized_keys file).
std::string ssh_fingerprint(std::string_view public_key_line);

struct AccessCheck {
  bool passed = false;
  std::string detail;  // why it failed, or the fingerprint seen
};

// "" when a TCP connection to host:port (an IPv4 or IPv6 address, never
// a name) opens within `timeout` (then closed), else why not:
// check_access's first step, alone.
std::string tcp_reachable(const std::string& host, std::uint16_t port,
                          std::chrono::milliseconds timeout);

// Connects to host:port (TCP, then ssh-keyscan, all within `timeout`) and
// passes only when the server presents a host key with
// `expected_fingerprint`. Never throws: a refused connection, a timeout, no
// SSH server or another key fails with a detail saying which.
AccessCheck check_access(const std::string& host, std::uint16_t port,
                         const std::string& expected_fingerprint,
                         std::chrono::milliseconds timeout);

}  // namespace gpux::provider
