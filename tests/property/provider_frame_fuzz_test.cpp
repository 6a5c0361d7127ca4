// The provider-frame fuzz harness in the default suite: seeded random byte
// strings, so every CI run exercises it; ops/fuzz runs it under libFuzzer.
#include "../fuzz/provider_frame_fuzz.h"

#include <doctest/doctest.h>

#include <random>
#include <vector>

TEST_CASE("a provider's answers made of random bytes never pass and never break the exchange") {
  std::mt19937_64 random(20261206);
  for (int input = 0; input < 20'000; ++input) {
    std::vector<std::uint8_t> bytes(1 + random() % 4'000);
    for (auto& b : bytes)
      b = static_cast<std::uint8_t>(random());
    const std::string problem =
        gpux::test::run_provider_frame_fuzz_case(bytes.data(), bytes.size());
    REQUIRE_MESSAGE(problem.empty(), "input " << input << ": " << problem);
  }
  CHECK(gpux::test::run_provider_frame_fuzz_case(nullptr, 0).empty());
  // It reaches the verifier's checks of lanes and tiles, and its verdicts.
  const auto reach = gpux::test::provider_frame_fuzz_reach();
  MESSAGE("cases " << reach.cases << ", lanes " << reach.lanes_received << ", tiles "
                   << reach.tiles_received << ", verdicts " << reach.finished);
  CHECK(reach.lanes_received > reach.cases / 10);
  CHECK(reach.tiles_received > 0);
  CHECK(reach.finished > 0);
}
