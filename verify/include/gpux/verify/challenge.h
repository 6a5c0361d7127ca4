// What the exchange asks of a GPU: the class it claims, the work that proves
// it, and the limits the answer must meet. A challenge is plain data; the
// prover and the verifier derive everything else from it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace gpux::verify {

struct Nonce {
  std::array<std::uint8_t, 32> bytes{};
  bool operator==(const Nonce&) const = default;
};
std::string to_hex(const Nonce&);
std::optional<Nonce> nonce_from_hex(std::string_view hex);
// A reproducible nonce for tests, benchmarks and examples (the exchange draws
// fresh randomness for real challenges).
Nonce nonce_from_seed(std::uint64_t seed);
// A fresh nonce from the operating system's entropy: what every real
// challenge uses, so that no prover can compute it ahead.
Nonce random_nonce();

// A GPU class as the exchange sells it. Rates are sustained int8 tensor
// operations per second (2 per multiply-add): `nominal` is what the class
// sustains, `minimum` the floor a proof's steps must beat. Only profiles
// marked `calibrated` were measured on the hardware; the others are scaled
// from the vendor's dense int8 figure by the H100's measured sustained ratio
// (1,245 of 1,979 TOPS) and must be calibrated before real money rides on them.
struct ClassProfile {
  std::string_view name;
  std::string_view description;
  std::uint64_t memory_bytes;
  std::uint64_t nominal_ops_per_s;
  std::uint64_t minimum_ops_per_s;
  std::uint32_t matrix_size;            // n of the n x n x n int8 GEMM per step
  std::uint32_t tile_size;              // committed tiles are tile x tile
  std::uint32_t memory_parents;         // cache reads per dataset item
  std::uint32_t memory_lanes;           // independent random walks in the memory phase
  std::int64_t memory_phase_budget_ns;  // honest memory phase time, with headroom
  bool calibrated;
  // A CPU thread stands in for each device: the CPU prover runs its chain at
  // the class's nominal rate and no faster, as one device of the class
  // would, so one simulated device cannot answer two challenges of a round.
  bool simulated = false;
};

std::span<const ClassProfile> class_profiles();
// By name, in any case: a profile's name upper-cased is the exchange's GPU
// class of the products it verifies (h100-sxm for H100-SXM hours).
const ClassProfile* find_class(std::string_view name);
// The class a device sells as, from the name CUDA reports for it ("NVIDIA
// H100 80GB HBM3" is h100-sxm); null for a GPU the exchange does not list.
const ClassProfile* class_of_device(std::string_view cuda_device_name);

struct Challenge {
  Nonce nonce;
  std::string gpu_class;
  std::uint32_t matrix_size = 0;
  std::uint32_t tile_size = 0;
  std::uint32_t steps = 0;
  std::uint64_t memory_items = 0;  // 16-byte dataset items filling ~90% of the claimed memory
  std::uint32_t memory_parents = 0;
  std::uint32_t memory_lanes = 0;
  std::uint32_t memory_reads = 0;  // dependent reads per lane
  std::uint32_t tile_openings = 0;
  std::uint32_t lane_openings = 0;
  std::int64_t max_step_ns = 0;    // one step at the class's minimum rate
  std::int64_t max_memory_ns = 0;  // the memory phase
  std::int64_t slack_ns = 0;       // network and scheduling allowance
  std::int64_t deadline_ns = 0;    // the whole proof, counted from the challenge's issue
};

// The error naming the first field that makes a challenge unusable (sizes not
// powers of two, an inner dimension that could overflow int32, ...).
std::optional<std::string> validate(const Challenge&);

// Openings needed so that a prover skipping `skipped_per_mille` of the tiles
// passes with probability at most 1 / `odds` (each opening independently
// catches it with probability f, so it passes with (1 - f)^k).
std::uint32_t openings_for(std::uint32_t skipped_per_mille, std::uint64_t odds);

// One chain step at the class's nominal rate.
std::int64_t nominal_step_ns(const ClassProfile& profile);

// A challenge of about `duration_ns` of honest work on `profile`, sound
// against skipping 10% of the tiles at 1 in 10,000. It lasts at least the
// memory phase's allowance plus twice the slack: of several challenges
// issued at one instant, a device can then answer only one in time.
Challenge make_challenge(const ClassProfile& profile, const Nonce& nonce, std::int64_t duration_ns);

}  // namespace gpux::verify
