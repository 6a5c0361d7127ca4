// A 64-bit running hash for comparing engine states across runs and book
// implementations. Not cryptographic: it detects divergence, not tampering.
#pragma once

#include <cstdint>
#include <string_view>

namespace gpux::matching {

class StateHasher {
 public:
  void add(std::uint64_t value) {
    // splitmix64's finaliser over (state + value): every input bit moves the result.
    std::uint64_t z = state_ + value + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    state_ = z ^ (z >> 31);
  }
  void add(std::int64_t value) { add(static_cast<std::uint64_t>(value)); }
  void add(std::uint32_t value) { add(std::uint64_t{value}); }
  void add(std::string_view text) {
    add(std::uint64_t{text.size()});
    for (unsigned char c : text)
      add(std::uint64_t{c});
  }
  template <class Enum>
  requires std::is_enum_v<Enum>
  void add(Enum value) { add(static_cast<std::uint64_t>(value)); }

  std::uint64_t value() const { return state_; }

 private:
  std::uint64_t state_ = 0;
};

}  // namespace gpux::matching
