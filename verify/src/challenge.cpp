#include "gpux/verify/challenge.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <random>
#include <utility>

#include "gpux/verify/philox.h"
#include "gpux/verify/proof.h"

namespace gpux::verify {
namespace {

constexpr std::uint64_t MiB = 1024 * 1024;
constexpr std::uint64_t T = 1'000'000'000'000;  // 10^12 ops/s
constexpr std::int64_t second = 1'000'000'000;

// Memory sizes are what nvidia-smi reports as total for each board.
constexpr ClassProfile kProfiles[] = {
    {"h100-sxm", "NVIDIA H100 SXM5 80GB", 81'559 * MiB, 1'245 * T, 1'058 * T, 16384, 32, 32,
     1 << 22, 4 * second, true},
    {"h100-pcie", "NVIDIA H100 PCIe 80GB", 81'559 * MiB, 953 * T, 810 * T, 16384, 32, 32, 1 << 22,
     5 * second, false},
    {"h200", "NVIDIA H200 141GB", 143'771 * MiB, 1'245 * T, 1'058 * T, 16384, 32, 32, 1 << 22,
     6 * second, false},
    {"a100", "NVIDIA A100 SXM4 80GB", 81'920 * MiB, 393 * T, 334 * T, 16384, 32, 32, 1 << 22,
     6 * second, false},
    {"l40s", "NVIDIA L40S 48GB", 46'068 * MiB, 462 * T, 393 * T, 16384, 32, 32, 1 << 22, 6 * second,
     false},
    {"rtx-4090", "NVIDIA GeForce RTX 4090 24GB", 24'564 * MiB, 416 * T, 354 * T, 16384, 32, 32,
     1 << 22, 4 * second, false},
    {"b200", "NVIDIA B200 180GB", 183'359 * MiB, 2'835 * T, 2'410 * T, 16384, 32, 32, 1 << 22,
     6 * second, false},
    // A simulated GPU standing in for the real ones in tests, CI and the demo:
    // one CPU thread per device, paced to exactly 100 ms a step (its nominal
    // rate; see ClassProfile::simulated), with 150 ms the floor. Its memory
    // phase is small and its allowance wide (2 s), because N simulated
    // devices share the machine's cores for it: 96 at once pass on 2 cores in
    // a release build, 16 in a debug build with sanitizers
    // (docs/perf-notes.md, "Proof of quantity").
    {"cpu-sim", "simulated GPU (a paced CPU thread)", 1 * MiB, 41'943'040, 27'962'027, 128, 32, 8,
     1024, 2 * second, false, true},
};

std::string hex(const std::uint8_t* bytes, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

bool power_of_two(std::uint64_t v) {
  return v != 0 && std::has_single_bit(v);
}

}  // namespace

std::string to_hex(const Nonce& nonce) {
  return hex(nonce.bytes.data(), nonce.bytes.size());
}
std::string to_hex(const Digest& digest) {
  return hex(digest.b, sizeof digest.b);
}

std::optional<Nonce> nonce_from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Nonce nonce;
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = value(hex[2 * i]), lo = value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    nonce.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return nonce;
}

Nonce random_nonce() {
  std::random_device entropy;
  Nonce nonce;
  for (auto& byte : nonce.bytes)
    byte = static_cast<std::uint8_t>(entropy());
  return nonce;
}

Nonce nonce_from_seed(std::uint64_t seed) {
  Nonce nonce;
  for (std::uint32_t i = 0; i < 8; ++i) {
    const std::uint32_t word = philox4x32_10(Philox4{{i, 0, 0, 0}}, philox_key(seed)).v[0];
    for (int b = 0; b < 4; ++b)
      nonce.bytes[4 * i + b] = static_cast<std::uint8_t>(word >> (8 * b));
  }
  return nonce;
}

std::span<const ClassProfile> class_profiles() {
  return kProfiles;
}

const ClassProfile* find_class(std::string_view name) {
  const auto same_letters = [](std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
      return std::tolower(static_cast<unsigned char>(x)) ==
             std::tolower(static_cast<unsigned char>(y));
    });
  };
  for (const auto& profile : kProfiles)
    if (same_letters(profile.name, name)) return &profile;
  return nullptr;
}

const ClassProfile* class_of_device(std::string_view cuda_device_name) {
  // The more specific names first: "H100 PCIe" before "H100".
  static constexpr std::pair<std::string_view, std::string_view> kParts[] = {
      {"H100 PCIe", "h100-pcie"}, {"H100", "h100-sxm"}, {"H200", "h200"}, {"A100", "a100"},
      {"L40S", "l40s"},           {"4090", "rtx-4090"}, {"B200", "b200"}};
  for (const auto& [part, name] : kParts)
    if (cuda_device_name.find(part) != std::string_view::npos) return find_class(name);
  return nullptr;
}

std::optional<std::string> validate(const Challenge& c) {
  if (!power_of_two(c.matrix_size) || c.matrix_size < 16)
    return "matrix_size must be a power of two of at least 16";
  // |a x b| <= 128 x 128 per product: n products must stay within int32.
  if (std::uint64_t{c.matrix_size} * 128 * 128 > 0x7FFFFFFFu)
    return "matrix_size is too large: its int32 dot products could overflow";
  if (!power_of_two(c.tile_size) || c.tile_size < 4 || c.tile_size > c.matrix_size)
    return "tile_size must be a power of two between 4 and matrix_size";
  if (c.steps == 0) return "steps must be at least 1";
  if (c.memory_items == 0) return "memory_items must be at least 1";
  if (c.memory_parents == 0) return "memory_parents must be at least 1";
  if (!power_of_two(c.memory_lanes)) return "memory_lanes must be a power of two";
  if (c.memory_reads == 0) return "memory_reads must be at least 1";
  if (c.tile_openings == 0) return "tile_openings must be at least 1";
  if (c.lane_openings == 0 || c.lane_openings > c.memory_lanes)
    return "lane_openings must be between 1 and memory_lanes";
  if (c.max_step_ns <= 0 || c.max_memory_ns <= 0 || c.slack_ns < 0 || c.deadline_ns <= 0)
    return "time limits must be positive";
  return std::nullopt;
}

std::uint32_t openings_for(std::uint32_t skipped_per_mille, std::uint64_t odds) {
  const double f = skipped_per_mille / 1000.0;
  return static_cast<std::uint32_t>(
      std::ceil(std::log(1.0 / static_cast<double>(odds)) / std::log(1.0 - f)));
}

std::int64_t nominal_step_ns(const ClassProfile& profile) {
  const auto n = static_cast<unsigned __int128>(profile.matrix_size);
  return static_cast<std::int64_t>(2 * n * n * n * second / profile.nominal_ops_per_s);
}

Challenge make_challenge(const ClassProfile& profile, const Nonce& nonce,
                         std::int64_t duration_ns) {
  Challenge c;
  c.nonce = nonce;
  c.gpu_class = std::string(profile.name);
  c.matrix_size = profile.matrix_size;
  c.tile_size = profile.tile_size;
  const auto n = static_cast<unsigned __int128>(profile.matrix_size);
  const unsigned __int128 step_ops = 2 * n * n * n;
  c.max_memory_ns = profile.memory_phase_budget_ns;
  c.slack_ns = second / 2;
  // Longer than the memory phase's allowance: a device answering two
  // challenges of one round one after the other commits the second's memory
  // phase too late (memory_too_slow), so N proofs in one round need N devices.
  const std::int64_t duration =
      std::max(duration_ns, c.max_memory_ns + 2 * c.slack_ns + nominal_step_ns(profile));
  c.steps =
      static_cast<std::uint32_t>(std::max<std::int64_t>(1, duration / nominal_step_ns(profile)));
  c.max_step_ns = static_cast<std::int64_t>(step_ops * second / profile.minimum_ops_per_s);
  c.memory_items = profile.memory_bytes / 16 * 9 / 10;
  c.memory_parents = profile.memory_parents;
  c.memory_lanes = profile.memory_lanes;
  // Four reads per item: a prover that keeps only part of the dataset
  // recomputes the rest (memory_parents reads each) far more often than an
  // honest one builds it once.
  c.memory_reads =
      static_cast<std::uint32_t>((4 * c.memory_items + c.memory_lanes - 1) / c.memory_lanes);
  c.tile_openings = openings_for(100, 10'000);
  c.lane_openings = std::min<std::uint32_t>(8, c.memory_lanes);
  c.deadline_ns = c.max_memory_ns + c.steps * c.max_step_ns + 2 * c.slack_ns;
  return c;
}

}  // namespace gpux::verify
