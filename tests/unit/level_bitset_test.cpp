// The ladder book's level bitset against a plain std::set.
#include "level_bitset.h"

#include <doctest/doctest.h>

#include <random>
#include <set>

using gpux::matching::LevelBitset;

TEST_CASE("level bitset finds neighbours like a std::set does") {
  for (std::uint32_t size : {1u, 63u, 64u, 65u, 4096u, 4097u, 300'000u}) {
    LevelBitset bits(size);
    std::set<std::uint32_t> model;
    std::mt19937_64 random(size);
    for (int step = 0; step < 20'000; ++step) {
      const auto i = static_cast<std::uint32_t>(random() % size);
      if (random() % 3 == 0) {
        bits.clear(i);
        model.erase(i);
      } else {
        bits.set(i);
        model.insert(i);
      }
      const auto q = static_cast<std::uint32_t>(random() % size);
      const auto after = model.lower_bound(q);
      REQUIRE(bits.next_at_or_after(q) == (after == model.end() ? LevelBitset::npos : *after));
      auto before = model.upper_bound(q);
      REQUIRE(bits.prev_at_or_before(q) ==
              (before == model.begin() ? LevelBitset::npos : *--before));
    }
  }
}
