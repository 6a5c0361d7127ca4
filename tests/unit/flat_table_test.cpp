// The engine's hash table against std::unordered_map, through growth and
// backward-shift deletion.
#include "flat_table.h"

#include <doctest/doctest.h>

#include <random>
#include <unordered_map>

using gpux::matching::FlatTable;

namespace {

struct Slot {
  std::uint64_t key = 0;  // 0 = empty
  std::uint64_t value = 0;
};
struct SlotTraits {
  static std::uint64_t key(const Slot& s) { return s.key; }
  static bool empty(const Slot& s) { return s.key == 0; }
};

}  // namespace

TEST_CASE("flat table behaves like std::unordered_map") {
  // Dense sequential keys (like order ids) and scattered ones.
  for (std::uint64_t spread : {1ull, 0x10001ull, 0x9E3779B97F4A7C15ull}) {
    FlatTable<Slot, SlotTraits> table(16);
    std::unordered_map<std::uint64_t, std::uint64_t> model;
    std::mt19937_64 random(spread);
    std::uint64_t next = 1;
    for (int step = 0; step < 200'000; ++step) {
      if (model.empty() || random() % 5 < 3) {
        const std::uint64_t key = (next++) * spread;  // odd spread: distinct, non-zero
        table.insert(Slot{key, key * 3});
        model[key] = key * 3;
      } else {
        // Erase a key chosen near the hot end so long probe runs get shifted.
        auto it = model.begin();
        std::advance(it, static_cast<long>(random() % std::min<std::size_t>(model.size(), 8)));
        table.erase(it->first);
        model.erase(it);
      }
      if (step % 9973 == 0) {
        REQUIRE(table.size() == model.size());
        for (const auto& [key, value] : model) {
          const Slot* slot = table.find(key);
          REQUIRE(slot != nullptr);
          REQUIRE(slot->value == value);
        }
        REQUIRE(table.find((next + 5) * spread) == nullptr);
      }
    }
  }
}
