// Which price levels are non-empty, as a two-level bitset: finding the next
// non-empty level in either direction touches at most a few words, however
// sparse the book.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

namespace gpux::matching {

class LevelBitset {
 public:
  static constexpr std::uint32_t npos = UINT32_MAX;

  LevelBitset() = default;
  explicit LevelBitset(std::uint32_t size)
      : words_((size + 63) / 64), summary_((words_.size() + 63) / 64) {}

  void set(std::uint32_t i) {
    words_[i >> 6] |= bit(i);
    summary_[i >> 12] |= bit(i >> 6);
  }

  void clear(std::uint32_t i) {
    if ((words_[i >> 6] &= ~bit(i)) == 0) summary_[i >> 12] &= ~bit(i >> 6);
  }

  // Lowest set index >= i, or npos.
  std::uint32_t next_at_or_after(std::uint32_t i) const {
    std::uint32_t word = i >> 6;
    if (word >= words_.size()) return npos;
    if (const std::uint64_t w = words_[word] & (~0ull << (i & 63))) return first(word, w);
    ++word;
    for (std::uint32_t s = word >> 6; s < summary_.size(); ++s) {
      const std::uint64_t mask = s == (word >> 6) ? ~0ull << (word & 63) : ~0ull;
      if (const std::uint64_t bits = summary_[s] & mask) {
        const std::uint32_t found = (s << 6) + std::countr_zero(bits);
        return first(found, words_[found]);
      }
    }
    return npos;
  }

  // Highest set index <= i, or npos.
  std::uint32_t prev_at_or_before(std::uint32_t i) const {
    std::uint32_t word = i >> 6;
    if (const std::uint64_t w = words_[word] & up_to(i & 63)) return last(word, w);
    if (word == 0) return npos;
    --word;
    for (std::uint32_t s = (word >> 6) + 1; s-- > 0;) {
      const std::uint64_t mask = s == (word >> 6) ? up_to(word & 63) : ~0ull;
      if (const std::uint64_t bits = summary_[s] & mask) {
        const std::uint32_t found = (s << 6) + 63 - std::countl_zero(bits);
        return last(found, words_[found]);
      }
    }
    return npos;
  }

  std::size_t bytes() const { return (words_.size() + summary_.size()) * sizeof(std::uint64_t); }

 private:
  static std::uint64_t bit(std::uint32_t i) { return 1ull << (i & 63); }
  static std::uint64_t up_to(std::uint32_t b) { return b == 63 ? ~0ull : (2ull << b) - 1; }
  static std::uint32_t first(std::uint32_t word, std::uint64_t w) {
    return (word << 6) + std::countr_zero(w);
  }
  static std::uint32_t last(std::uint32_t word, std::uint64_t w) {
    return (word << 6) + 63 - std::countl_zero(w);
  }

  std::vector<std::uint64_t> words_;
  std::vector<std::uint64_t> summary_;
};

}  // namespace gpux::matching
