// The messages of one proof, in protocol order: the memory commitment, the
// lanes the verifier opens, then per step a commitment and, for the steps the
// verifier picked, the opened tiles. Plain data, so any transport can carry it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gpux/verify/challenge.h"
#include "gpux/verify/sha256.h"

namespace gpux::verify {

std::string to_hex(const Digest&);

// Siblings from the leaf up; its length is log2 of the tree's leaf count.
using MerklePath = std::vector<Digest>;

struct MemoryCommitment {
  Nonce nonce;
  Digest root;  // over the lanes' results
};

struct LaneOpening {
  std::uint32_t lane = 0;
  std::uint32_t result[4] = {};
  MerklePath path;
};

struct StepCommitment {
  Nonce nonce;
  std::uint32_t step = 0;
  Digest root;  // over the step's tile leaves, tile (row, col) at col x tiles + row
};

struct TilePosition {
  std::uint32_t step = 0;
  std::uint32_t row = 0;  // tile row and column, in tiles
  std::uint32_t col = 0;
};

struct TileOpening {
  std::uint32_t row = 0;
  std::uint32_t col = 0;
  Digest leaf;
  MerklePath path;
  // The tile's inputs beyond step 0: column strip `row` of the previous step's
  // mixed output (n rows x tile bytes, row-major), which transposed is the row
  // panel this tile multiplies. Its tiles are one subtree of the previous
  // step's tree; the path runs from that subtree's root.
  std::vector<std::int8_t> strip;
  MerklePath strip_path;
};

struct StepOpening {
  std::uint32_t step = 0;
  std::vector<TileOpening> tiles;
};

}  // namespace gpux::verify
