// Host-side pieces shared by the provers and the verifier: key derivation,
// Merkle trees, and the exact int8 tile arithmetic.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "gpux/verify/proof.h"
#include "work.h"

namespace gpux::verify::protocol {

struct MemoryKeys {
  PhiloxKey cache;
  PhiloxKey dataset;
  PhiloxKey lanes;
};
MemoryKeys memory_keys(const Nonce& nonce);

// The chain's inputs depend on the memory commitment, so no step can start
// before the memory phase is done.
struct ChainKeys {
  PhiloxKey a;
  PhiloxKey b;
};
ChainKeys chain_keys(const Nonce& nonce, const Digest& memory_root);

std::vector<Philox4> make_cache(PhiloxKey key);

// What the verifier will open, drawn from its secret before any commitment
// arrives and revealed piece by piece after the commitment it opens.
struct OpeningSchedule {
  std::vector<TilePosition> tiles;
  std::vector<std::uint32_t> lanes;
};
OpeningSchedule opening_schedule(const Challenge& challenge, std::uint64_t secret);

class MerkleTree {
 public:
  MerkleTree() = default;
  // `leaves.size()` must be a power of two.
  explicit MerkleTree(std::vector<Digest> leaves);
  // A tree whose levels were computed elsewhere (the GPU), leaves first.
  static MerkleTree from_levels(std::vector<std::vector<Digest>> levels);
  const Digest& root() const { return levels_.back().front(); }
  // The siblings from node `index` of `level` (0: the leaves) up to the root.
  MerklePath path(std::size_t index, std::size_t level = 0) const;

 private:
  std::vector<std::vector<Digest>> levels_;
};

Digest root_from_path(Digest leaf, std::size_t index, const MerklePath& path);
std::size_t path_length(std::size_t leaves);

// Row `row` of a challenge matrix (n elements), 16 per Philox call: the same
// bytes as matrix_element() one by one.
void matrix_row(PhiloxKey key, std::uint32_t tag, std::uint32_t row, std::uint32_t n,
                std::int8_t* out);

// Lane `lane`'s result computed the verifier's way: every dataset item it
// reads built on demand from the cache (no dataset in memory).
Philox4 walk_lane(const Challenge& c, const MemoryKeys& keys, const std::vector<Philox4>& cache,
                  std::uint32_t lane);

LaneOpening open_lane(std::uint32_t lane, Philox4 result, MerklePath path);

// Step `step`'s opening of the tiles at `positions`, in their order: each
// tile's row and column set, then `fill(tile)` adds its leaf and path (and
// beyond step 0 its strip and strip path) from the prover's own storage.
template <class Fill>
StepOpening open_step(std::uint32_t step, std::span<const TilePosition> positions, Fill&& fill) {
  StepOpening opening;
  opening.step = step;
  for (const auto& position : positions) {
    TileOpening tile;
    tile.row = position.row;
    tile.col = position.col;
    fill(tile);
    opening.tiles.push_back(std::move(tile));
  }
  return opening;
}

// Tile (row, col) of a step's mixed output (tile x tile, row-major), exactly:
// A's row panel is regenerated for step 0 and otherwise transposed from
// `strip` (the previous step's column strip `row`); B's panel is regenerated.
std::vector<std::int8_t> compute_tile(const Challenge& c, const ChainKeys& keys, std::uint32_t step,
                                      std::uint32_t row, std::uint32_t col,
                                      const std::vector<std::int8_t>& strip);

// Exact int8 dot product with int32 accumulation (cannot overflow for the
// sizes validate() admits).
std::int32_t dot(const std::int8_t* a, const std::int8_t* b, std::uint32_t n);

}  // namespace gpux::verify::protocol
