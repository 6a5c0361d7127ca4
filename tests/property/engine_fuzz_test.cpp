// The fuzz harness in the default suite: seeded random byte strings, so every
// compiler and CI run exercises it; ops/fuzz runs it under libFuzzer.
#include "../fuzz/engine_fuzz.h"

#include <doctest/doctest.h>

#include <random>
#include <vector>

TEST_CASE("random byte streams never split the two books or break invariants") {
  std::mt19937_64 random(20261123);
  for (int input = 0; input < 1'500; ++input) {
    std::vector<std::uint8_t> bytes(1 + random() % 6'000);
    for (auto& b : bytes)
      b = static_cast<std::uint8_t>(random());
    const std::string problem = gpux::test::run_engine_fuzz_case(bytes.data(), bytes.size());
    REQUIRE_MESSAGE(problem.empty(), "input " << input << ": " << problem);
  }
  // The empty input, and one that is nothing but set-up.
  CHECK(gpux::test::run_engine_fuzz_case(nullptr, 0).empty());
}
