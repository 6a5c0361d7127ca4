#include "gpux/matching/delivery_keys.h"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace gpux::matching {
namespace {

constexpr std::array<std::string_view, 7> kKeyTypes = {"ssh-ed25519",
                                                       "ecdsa-sha2-nistp256",
                                                       "ecdsa-sha2-nistp384",
                                                       "ecdsa-sha2-nistp521",
                                                       "ssh-rsa",
                                                       "sk-ssh-ed25519@openssh.com",
                                                       "sk-ecdsa-sha2-nistp256@openssh.com"};

bool separator(char c) {
  return c == ' ' || c == '\t';
}

// The line's first two fields: type and base64 body.
std::pair<std::string_view, std::string_view> fields(std::string_view line) {
  std::size_t at = 0;
  const auto next = [&] {
    while (at < line.size() && separator(line[at]))
      ++at;
    const std::size_t start = at;
    while (at < line.size() && !separator(line[at]))
      ++at;
    return line.substr(start, at - start);
  };
  const std::string_view type = next();
  return {type, next()};
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with padding, as OpenSSH writes it; none when malformed.
std::optional<std::vector<std::uint8_t>> decode_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t bits = 0;
    int padding = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      const bool last_group = i + 4 == text.size();
      if (c == '=' && last_group && j >= 2 && (j == 3 || text[i + 3] == '=')) {
        ++padding;
        bits <<= 6;
        continue;
      }
      const int value = base64_value(c);
      if (value < 0 || padding > 0) return std::nullopt;
      bits = bits << 6 | static_cast<std::uint32_t>(value);
    }
    out.push_back(static_cast<std::uint8_t>(bits >> 16));
    if (padding < 2) out.push_back(static_cast<std::uint8_t>(bits >> 8 & 0xFF));
    if (padding < 1) out.push_back(static_cast<std::uint8_t>(bits & 0xFF));
  }
  return out;
}

// Reads the SSH wire format's length-prefixed strings one by one.
class Blob {
 public:
  explicit Blob(const std::vector<std::uint8_t>& bytes) : bytes_(bytes) {}
  std::optional<std::string_view> next() {
    if (bytes_.size() - at_ < 4) return std::nullopt;
    const std::uint32_t length = std::uint32_t{bytes_[at_]} << 24 |
                                 std::uint32_t{bytes_[at_ + 1]} << 16 |
                                 std::uint32_t{bytes_[at_ + 2]} << 8 | bytes_[at_ + 3];
    at_ += 4;
    if (bytes_.size() - at_ < length) return std::nullopt;
    const std::string_view field(reinterpret_cast<const char*>(bytes_.data() + at_), length);
    at_ += length;
    return field;
  }

 private:
  const std::vector<std::uint8_t>& bytes_;
  std::size_t at_ = 0;
};

// The bit length of an SSH mpint (big-endian, a leading zero byte for sign).
std::size_t mpint_bits(std::string_view mpint) {
  std::size_t i = 0;
  while (i < mpint.size() && mpint[i] == 0)
    ++i;
  if (i == mpint.size()) return 0;
  std::size_t bits = (mpint.size() - i - 1) * 8;
  for (auto top = static_cast<std::uint8_t>(mpint[i]); top != 0; top >>= 1)
    ++bits;
  return bits;
}

}  // namespace

DeliveryKeyProblem check_delivery_key(std::string_view line) {
  using P = DeliveryKeyProblem;
  if (line.size() > kMaxDeliveryKeyBytes) return P::too_long;
  if (line.empty()) return P::not_one_line;
  // Printable ASCII only, as the provider's agent and sshd read it: a byte
  // the agent would refuse could fail the buyer's grant mid-hour.
  for (char c : line) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte >= 0x7f) return P::not_one_line;
  }
  const auto [type, body] = fields(line);
  bool known = false;
  for (std::string_view t : kKeyTypes)
    known = known || t == type;
  if (!known) return P::unknown_type;
  const auto bytes = decode_base64(body);
  if (!bytes) return P::bad_base64;
  Blob blob(*bytes);
  const auto named = blob.next();
  if (!named || *named != type) return P::type_mismatch;
  if (type == "ssh-rsa") {
    const auto exponent = blob.next();
    const auto modulus = blob.next();
    if (!exponent || !modulus || mpint_bits(*modulus) < 2048) return P::key_too_weak;
  }
  return P::none;
}

std::optional<std::vector<std::uint8_t>> ssh_key_blob(std::string_view line) {
  const auto [type, body] = fields(line);
  auto bytes = decode_base64(body);
  if (!bytes) return std::nullopt;
  const auto named = Blob(*bytes).next();
  if (!named || *named != type) return std::nullopt;
  return bytes;
}

std::string delivery_key_identity(std::string_view line) {
  const auto [type, body] = fields(line);
  return std::string(type) + " " + std::string(body);
}

const char* to_string(DeliveryKeyProblem problem) {
  switch (problem) {
    case DeliveryKeyProblem::none:
      return "none";
    case DeliveryKeyProblem::too_long:
      return "the key line is longer than 4096 bytes";
    case DeliveryKeyProblem::not_one_line:
      return "give one key, on one line";
    case DeliveryKeyProblem::unknown_type:
      return "the key type is not ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa or a "
             "security-key (sk-) type";
    case DeliveryKeyProblem::bad_base64:
      return "the key's body is not base64";
    case DeliveryKeyProblem::type_mismatch:
      return "the key's body is of another type than the line says";
    case DeliveryKeyProblem::key_too_weak:
      return "an RSA key needs at least 2048 bits";
  }
  return "?";
}

}  // namespace gpux::matching
