// A prover answers one challenge, phase by phase, so the verifier can
// timestamp each commitment as it arrives and pick what to open only after.
#pragma once

#include <memory>
#include <span>

#include "gpux/verify/proof.h"

namespace gpux::verify {

class Prover {
 public:
  virtual ~Prover() = default;
  virtual MemoryCommitment run_memory_phase() = 0;
  virtual std::vector<LaneOpening> open_lanes(std::span<const std::uint32_t> lanes) = 0;
  // Computes and commits the next step of the chain.
  virtual StepCommitment run_step() = 0;
  // Opens tiles of the step just committed (a prover keeps two steps).
  virtual StepOpening open_tiles(std::span<const TilePosition> tiles) = 0;
};

// Ways to cheat, for soundness tests and the demo's dishonest provider.
struct Cheats {
  // Tiles never computed, committed as zeros: this fraction of all the
  // chain's tiles, rounded to whole tiles.
  std::uint32_t skip_tiles_per_mille = 0;
  std::uint64_t memory_items = 0;  // a smaller dataset than challenged; 0: honest
  std::uint64_t seed = 1;          // picks the skipped tiles
};

// The portable reference prover: one CPU core, bit-identical to the CUDA one.
std::unique_ptr<Prover> make_cpu_prover(const Challenge& challenge, const Cheats& cheats = {});

}  // namespace gpux::verify
