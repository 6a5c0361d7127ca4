// The functions that decide every committed byte, shared by the CPU prover,
// the CUDA prover and the verifier. Changing any of them changes every proof:
// bump kProtocolLabel when you do.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gpux/verify/philox.h"
#include "gpux/verify/sha256.h"

namespace gpux::verify::work {

inline constexpr char kProtocolLabel[] = "gpux/verify/v1";

// Matrix tags in the Philox counter, so A and B of one challenge never share
// a stream.
inline constexpr std::uint32_t kTagA = 0x41;
inline constexpr std::uint32_t kTagB = 0x42;
inline constexpr std::uint32_t kCacheItems = 1u << 16;  // 1 MiB: fits any GPU's L2 or a CPU's

// Element (row, col) of an n x n int8 matrix: byte col % 16 of one Philox block.
GPUX_HD std::int8_t matrix_element(PhiloxKey key, std::uint32_t tag, std::uint32_t row,
                                   std::uint32_t col) {
  const Philox4 block = philox4x32_10(Philox4{{row, col / 16, tag, 0}}, key);
  const std::uint32_t word = block.v[(col % 16) / 4];
  return static_cast<std::int8_t>(static_cast<std::uint8_t>(word >> (8 * (col % 4))));
}

// int32 GEMM output back to int8: the top byte of a multiplicative hash, so
// every bit of the exact sum moves the next step's input.
GPUX_HD std::int8_t mix(std::int32_t c) {
  return static_cast<std::int8_t>(
      static_cast<std::uint8_t>((static_cast<std::uint32_t>(c) * 0x9E3779B1u) >> 24));
}

// Leaves are ordered column by column, so the column strip of tiles that
// the next step's row panel transposes from is one subtree with one path.
GPUX_HD std::size_t tile_leaf_index(std::uint32_t row, std::uint32_t col, std::uint32_t tiles) {
  return std::size_t{col} * tiles + row;
}

// The leaf of tile (ti, tj) of step `step`: its mixed int8 values row by row,
// bound to its position so tiles cannot be swapped between places or steps.
GPUX_HD Digest tile_leaf(std::uint32_t step, std::uint32_t ti, std::uint32_t tj,
                         const std::int8_t* tile, std::size_t row_stride, std::uint32_t tile_size) {
  Sha256 h;
  const std::uint8_t domain = 0;
  h.update(&domain, 1);
  h.update_u32(step);
  h.update_u32(ti);
  h.update_u32(tj);
  for (std::uint32_t r = 0; r < tile_size; ++r)
    h.update(tile + r * row_stride, tile_size);
  return h.finish();
}

GPUX_HD Digest merkle_parent(const Digest& left, const Digest& right) {
  Sha256 h;
  const std::uint8_t domain = 1;
  h.update(&domain, 1);
  h.update(left.b, 32);
  h.update(right.b, 32);
  return h.finish();
}

GPUX_HD Philox4 xor4(Philox4 a, Philox4 b) {
  return Philox4{{a.v[0] ^ b.v[0], a.v[1] ^ b.v[1], a.v[2] ^ b.v[2], a.v[3] ^ b.v[3]}};
}

// The memory phase (Ethash-like): a small cache, a dataset of items each
// costing `parents` dependent cache reads, and lanes of dependent random
// reads of the dataset.
GPUX_HD Philox4 cache_item(PhiloxKey key, std::uint32_t index) {
  return philox4x32_10(Philox4{{index, 0, 0, 0xCAC4E}}, key);
}

GPUX_HD Philox4 dataset_item(PhiloxKey key, const Philox4* cache, std::uint32_t parents,
                             std::uint64_t index) {
  Philox4 x = philox4x32_10(
      Philox4{{static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32), 1, 0}},
      key);
  for (std::uint32_t p = 0; p < parents; ++p)
    x = philox4x32_10(xor4(x, cache[x.v[0] % kCacheItems]), key);
  return x;
}

GPUX_HD Philox4 lane_start(PhiloxKey key, std::uint32_t lane) {
  return philox4x32_10(Philox4{{lane, 0, 2, 0}}, key);
}

GPUX_HD std::uint64_t lane_index(Philox4 state, std::uint64_t items) {
  return ((std::uint64_t{state.v[1]} << 32) | state.v[0]) % items;
}

GPUX_HD Philox4 lane_read(PhiloxKey key, Philox4 state, Philox4 item) {
  return philox4x32_10(xor4(state, item), key);
}

GPUX_HD Digest lane_leaf(std::uint32_t lane, Philox4 result) {
  Sha256 h;
  const std::uint8_t domain = 2;
  h.update(&domain, 1);
  h.update_u32(lane);
  for (auto v : result.v)
    h.update_u32(v);
  return h.finish();
}

}  // namespace gpux::verify::work
