#include "protocol.h"

#include <bit>
#include <cassert>
#include <cstring>

namespace gpux::verify::protocol {
namespace {

PhiloxKey derive(const Nonce& nonce, const char* label, const Digest* extra) {
  Sha256 h;
  h.update(work::kProtocolLabel, sizeof work::kProtocolLabel);
  h.update(label, std::strlen(label) + 1);
  h.update(nonce.bytes.data(), nonce.bytes.size());
  if (extra != nullptr) h.update(extra->b, 32);
  const Digest d = h.finish();
  std::uint64_t key = 0;
  for (int i = 0; i < 8; ++i)
    key = key << 8 | d.b[i];
  return philox_key(key);
}

}  // namespace

MemoryKeys memory_keys(const Nonce& nonce) {
  return {derive(nonce, "cache", nullptr), derive(nonce, "dataset", nullptr),
          derive(nonce, "lanes", nullptr)};
}

ChainKeys chain_keys(const Nonce& nonce, const Digest& memory_root) {
  return {derive(nonce, "a", &memory_root), derive(nonce, "b", &memory_root)};
}

std::vector<Philox4> make_cache(PhiloxKey key) {
  std::vector<Philox4> cache(work::kCacheItems);
  for (std::uint32_t i = 0; i < work::kCacheItems; ++i)
    cache[i] = work::cache_item(key, i);
  return cache;
}

OpeningSchedule opening_schedule(const Challenge& c, std::uint64_t secret) {
  std::uint32_t nonce_words[2] = {};
  for (int i = 0; i < 8; ++i)
    nonce_words[i / 4] = nonce_words[i / 4] << 8 | c.nonce.bytes[i];
  const PhiloxKey key = philox_key(secret);
  const std::uint32_t tiles = c.matrix_size / c.tile_size;
  OpeningSchedule schedule;
  for (std::uint32_t i = 0; i < c.tile_openings; ++i) {
    const Philox4 draw = philox4x32_10(Philox4{{i, 0x7117, nonce_words[0], nonce_words[1]}}, key);
    schedule.tiles.push_back({draw.v[0] % c.steps, draw.v[1] % tiles, draw.v[2] % tiles});
  }
  for (std::uint32_t i = 0; i < c.lane_openings; ++i)
    schedule.lanes.push_back(
        philox4x32_10(Philox4{{i, 0x1A4E, nonce_words[0], nonce_words[1]}}, key).v[0] %
        c.memory_lanes);
  return schedule;
}

MerkleTree::MerkleTree(std::vector<Digest> leaves) {
  assert(std::has_single_bit(leaves.size()));
  levels_.push_back(std::move(leaves));
  while (levels_.back().size() > 1) {
    const auto& below = levels_.back();
    std::vector<Digest> level(below.size() / 2);
    for (std::size_t i = 0; i < level.size(); ++i)
      level[i] = work::merkle_parent(below[2 * i], below[2 * i + 1]);
    levels_.push_back(std::move(level));
  }
}

MerkleTree MerkleTree::from_levels(std::vector<std::vector<Digest>> levels) {
  assert(!levels.empty() && levels.back().size() == 1);
  MerkleTree tree;
  tree.levels_ = std::move(levels);
  return tree;
}

MerklePath MerkleTree::path(std::size_t index, std::size_t level) const {
  MerklePath path;
  for (; level + 1 < levels_.size(); ++level, index /= 2)
    path.push_back(levels_[level][index ^ 1]);
  return path;
}

Digest root_from_path(Digest leaf, std::size_t index, const MerklePath& path) {
  for (const auto& sibling : path) {
    leaf = (index & 1) ? work::merkle_parent(sibling, leaf) : work::merkle_parent(leaf, sibling);
    index /= 2;
  }
  return leaf;
}

std::size_t path_length(std::size_t leaves) {
  return std::bit_width(leaves) - 1;
}

Philox4 walk_lane(const Challenge& c, const MemoryKeys& keys, const std::vector<Philox4>& cache,
                  std::uint32_t lane) {
  Philox4 state = work::lane_start(keys.lanes, lane);
  for (std::uint32_t r = 0; r < c.memory_reads; ++r)
    state = work::lane_read(keys.lanes, state,
                            work::dataset_item(keys.dataset, cache.data(), c.memory_parents,
                                               work::lane_index(state, c.memory_items)));
  return state;
}

LaneOpening open_lane(std::uint32_t lane, Philox4 result, MerklePath path) {
  LaneOpening opening;
  opening.lane = lane;
  for (int i = 0; i < 4; ++i)
    opening.result[i] = result.v[i];
  opening.path = std::move(path);
  return opening;
}

std::vector<std::int8_t> compute_tile(const Challenge& c, const ChainKeys& keys, std::uint32_t step,
                                      std::uint32_t row, std::uint32_t col,
                                      const std::vector<std::int8_t>& strip) {
  const std::uint32_t n = c.matrix_size, t = c.tile_size;
  // The tile's row panel of A and column panel of B, K-major.
  std::vector<std::int8_t> a(std::size_t{t} * n), b(std::size_t{t} * n);
  for (std::uint32_t r = 0; r < t; ++r) {
    if (step == 0) {
      matrix_row(keys.a, work::kTagA, row * t + r, n, &a[std::size_t{r} * n]);
    } else {
      for (std::uint32_t k = 0; k < n; ++k)
        a[std::size_t{r} * n + k] = strip[std::size_t{k} * t + r];
    }
    matrix_row(keys.b, work::kTagB, col * t + r, n, &b[std::size_t{r} * n]);
  }
  std::vector<std::int8_t> out(std::size_t{t} * t);
  for (std::uint32_t r = 0; r < t; ++r)
    for (std::uint32_t j = 0; j < t; ++j)
      out[std::size_t{r} * t + j] =
          work::mix(dot(&a[std::size_t{r} * n], &b[std::size_t{j} * n], n));
  return out;
}

void matrix_row(PhiloxKey key, std::uint32_t tag, std::uint32_t row, std::uint32_t n,
                std::int8_t* out) {
  for (std::uint32_t block = 0; block < n / 16; ++block) {
    const Philox4 v = philox4x32_10(Philox4{{row, block, tag, 0}}, key);
    for (int i = 0; i < 16; ++i)
      out[16 * block + i] =
          static_cast<std::int8_t>(static_cast<std::uint8_t>(v.v[i / 4] >> (8 * (i % 4))));
  }
}

// The verifier's hot loop: AVX2 where the CPU has it, chosen at load time.
__attribute__((target_clones("avx2", "default"))) std::int32_t dot(const std::int8_t* a,
                                                                   const std::int8_t* b,
                                                                   std::uint32_t n) {
  std::int32_t sum = 0;
  for (std::uint32_t k = 0; k < n; ++k)
    sum += std::int32_t{a[k]} * std::int32_t{b[k]};
  return sum;
}

}  // namespace gpux::verify::protocol
