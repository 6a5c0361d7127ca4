// The FIX order-entry fuzz harness in the default suite: seeded random byte
// strings, so every CI run exercises it; ops/fuzz runs it under libFuzzer.
#include "../fuzz/fix_order_fuzz.h"

#include <doctest/doctest.h>

#include <random>
#include <vector>

TEST_CASE("random order messages never get a request past order entry's rules") {
  std::mt19937_64 random(20261206);
  for (int input = 0; input < 50'000; ++input) {
    std::vector<std::uint8_t> bytes(1 + random() % 60);
    for (auto& b : bytes)
      b = static_cast<std::uint8_t>(random());
    const std::string problem = gpux::test::run_fix_order_fuzz_case(bytes.data(), bytes.size());
    REQUIRE_MESSAGE(problem.empty(), "input " << input << ": " << problem);
  }
  CHECK(gpux::test::run_fix_order_fuzz_case(nullptr, 0).empty());
  // It reaches order entry, and lets requests through as well as refusing.
  const auto reach = gpux::test::fix_order_fuzz_reach();
  MESSAGE("cases " << reach.cases << ", read " << reach.read << ", accepted " << reach.accepted);
  CHECK(reach.read > reach.cases / 10);
  CHECK(reach.accepted > 0);
  CHECK(reach.accepted < reach.read);
}
