// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11): a stateless counter-based generator. Any element of any challenge
// matrix is one call away, on the host and on the device, with no sequence to
// replay; that is what lets one CPU core regenerate exactly the inputs of a
// tile the GPU computed.
#pragma once

#include <cstdint>

#include "gpux/verify/hd.h"

namespace gpux::verify {

struct Philox4 {
  std::uint32_t v[4];
};
struct PhiloxKey {
  std::uint32_t k[2];
};

namespace detail {
GPUX_HD Philox4 philox_round(Philox4 c, PhiloxKey key) {
  const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c.v[0];
  const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c.v[2];
  const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
  const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
  return Philox4{{hi1 ^ c.v[1] ^ key.k[0], lo1, hi0 ^ c.v[3] ^ key.k[1], lo0}};
}
}  // namespace detail

GPUX_HD Philox4 philox4x32_10(Philox4 counter, PhiloxKey key) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key.k[0] += 0x9E3779B9u;
      key.k[1] += 0xBB67AE85u;
    }
    counter = detail::philox_round(counter, key);
  }
  return counter;
}

GPUX_HD PhiloxKey philox_key(std::uint64_t key) {
  return PhiloxKey{{static_cast<std::uint32_t>(key), static_cast<std::uint32_t>(key >> 32)}};
}

}  // namespace gpux::verify
