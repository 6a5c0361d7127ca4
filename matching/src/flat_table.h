// Open-addressing hash table with linear probing and backward-shift deletion:
// no tombstones, no allocation except when it doubles, O(1) find and erase.
// Traits say how a slot holds its key:
//   static std::uint64_t key(const Slot&);  static bool empty(const Slot&);
#pragma once

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace gpux::matching {

template <class Slot, class Traits>
class FlatTable {
 public:
  explicit FlatTable(std::size_t initial_capacity = 1024)
      : slots_(std::bit_ceil(initial_capacity < 16 ? std::size_t{16} : initial_capacity)),
        mask_(slots_.size() - 1) {}

  Slot* find(std::uint64_t key) {
    for (std::size_t i = home(key);; i = (i + 1) & mask_) {
      if (Traits::empty(slots_[i])) return nullptr;
      if (Traits::key(slots_[i]) == key) return &slots_[i];
    }
  }
  const Slot* find(std::uint64_t key) const { return const_cast<FlatTable*>(this)->find(key); }

  // The key must not be present yet.
  Slot& insert(Slot slot) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    return place(std::move(slot));
  }

  void erase(std::uint64_t key) {
    std::size_t hole = home(key);
    while (Traits::key(slots_[hole]) != key) {
      assert((!Traits::empty(slots_[hole])) && "erased a key that is not present");
      hole = (hole + 1) & mask_;
    }
    // Shift back every later slot of the probe run that may move into the hole.
    for (std::size_t next = (hole + 1) & mask_; !Traits::empty(slots_[next]);
         next = (next + 1) & mask_) {
      const std::size_t want = home(Traits::key(slots_[next]));
      if (((next - want) & mask_) >= ((next - hole) & mask_)) {
        slots_[hole] = std::move(slots_[next]);
        hole = next;
      }
    }
    slots_[hole] = Slot{};
    --size_;
  }

  std::size_t size() const { return size_; }
  std::size_t bytes() const { return slots_.size() * sizeof(Slot); }

  template <class F>
  void for_each(F&& f) const {
    for (const Slot& slot : slots_)
      if (!Traits::empty(slot)) f(slot);
  }

 private:
  std::size_t home(std::uint64_t key) const {
    // Fibonacci hashing spreads the engine's dense, sequential ids evenly.
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift()) & mask_;
  }
  int shift() const { return 64 - std::countr_zero(slots_.size()); }

  Slot& place(Slot slot) {
    std::size_t i = home(Traits::key(slot));
    while (!Traits::empty(slots_[i]))
      i = (i + 1) & mask_;
    slots_[i] = std::move(slot);
    ++size_;
    return slots_[i];
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (Slot& slot : old)
      if (!Traits::empty(slot)) place(std::move(slot));
  }

  std::vector<Slot> slots_;
  std::size_t mask_;
  std::size_t size_ = 0;
};

}  // namespace gpux::matching
