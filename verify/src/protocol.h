// Host-side pieces shared by the provers and the verifier: key derivation,
// Merkle trees, and the exact int8 tile arithmetic.
#pragma once

#include <cstdint>
#include <span>
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

class MerkleTree {
 public:
  MerkleTree() = default;
  // `leaves.size()` must be a power of two.
  explicit MerkleTree(std::vector<Digest> leaves);
  // A tree whose levels were computed elsewhere (the GPU), leaves first.
  static MerkleTree from_levels(std::vector<std::vector<Digest>> levels);
  const Digest& root() const { return levels_.back().front(); }
  MerklePath path(std::size_t index) const;

 private:
  std::vector<std::vector<Digest>> levels_;
};

Digest root_from_path(Digest leaf, std::size_t index, const MerklePath& path);
std::size_t path_length(std::size_t leaves);

// Exact int8 dot product with int32 accumulation (cannot overflow for the
// sizes validate() admits).
std::int32_t dot(const std::int8_t* a, const std::int8_t* b, std::uint32_t n);

}  // namespace gpux::verify::protocol
