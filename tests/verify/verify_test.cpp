// The proof of delivered compute: primitives against published vectors, the
// honest prover passing, and each way of cheating failing for its own reason.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <utility>

#include "gpux/verify/philox.h"
#include "gpux/verify/sha256.h"
#include "gpux/verify/verifier.h"
#include "protocol.h"
#include "run_command.h"

using namespace gpux::verify;
namespace work = gpux::verify::work;

namespace {

// Small enough to run hundreds of proofs in the sanitized debug build.
Challenge tiny_challenge(std::uint64_t seed, std::uint32_t openings = 88) {
  Challenge c;
  c.nonce = nonce_from_seed(seed);
  c.gpu_class = "test";
  c.matrix_size = 64;
  c.tile_size = 8;
  c.steps = 5;  // 320 tiles: skipping 10% is exactly 32 of them
  c.memory_items = 3000;
  c.memory_parents = 4;
  c.memory_lanes = 64;
  c.memory_reads = 200;
  c.tile_openings = openings;
  c.lane_openings = 4;
  c.max_step_ns = 1'000'000'000;
  c.max_memory_ns = 1'000'000'000;
  c.slack_ns = 0;
  c.deadline_ns = 10'000'000'000;
  return c;
}

// The verifier's clock, moved by the test: timings without sleeping.
class ManualClock final : public Clock {
 public:
  std::int64_t now_ns() override { return now; }
  std::int64_t now = 0;
};

// Advances the clock by `step_ns` whenever the prover commits a step.
class TimedProver final : public Prover {
 public:
  TimedProver(Prover& inner, ManualClock& clock, std::int64_t memory_ns,
              std::function<std::int64_t(std::uint32_t)> step_ns)
      : inner_(inner), clock_(clock), memory_ns_(memory_ns), step_ns_(std::move(step_ns)) {}
  MemoryCommitment run_memory_phase() override {
    clock_.now += memory_ns_;
    return inner_.run_memory_phase();
  }
  std::vector<LaneOpening> open_lanes(std::span<const std::uint32_t> lanes) override {
    return inner_.open_lanes(lanes);
  }
  StepCommitment run_step() override {
    auto commitment = inner_.run_step();
    clock_.now += step_ns_(commitment.step);
    return commitment;
  }
  StepOpening open_tiles(std::span<const TilePosition> tiles) override {
    return inner_.open_tiles(tiles);
  }

 private:
  Prover& inner_;
  ManualClock& clock_;
  std::int64_t memory_ns_;
  std::function<std::int64_t(std::uint32_t)> step_ns_;
};

Verdict prove(const Challenge& challenge, const Cheats& cheats = {}, std::uint64_t secret = 7) {
  ManualClock clock;
  Verifier verifier(challenge, secret, clock);
  auto prover = make_cpu_prover(challenge, cheats);
  return run_challenge(*prover, verifier);
}

}  // namespace

TEST_CASE("Philox4x32-10 matches Random123's known-answer vectors") {
  const auto zero = philox4x32_10(Philox4{{0, 0, 0, 0}}, PhiloxKey{{0, 0}});
  CHECK(zero.v[0] == 0x6627e8d5u);
  CHECK(zero.v[1] == 0xe169c58du);
  CHECK(zero.v[2] == 0xbc57ac4cu);
  CHECK(zero.v[3] == 0x9b00dbd8u);
  const auto ones = philox4x32_10(Philox4{{~0u, ~0u, ~0u, ~0u}}, PhiloxKey{{~0u, ~0u}});
  CHECK(ones.v[0] == 0x408f276du);
  CHECK(ones.v[1] == 0x41c83b0eu);
  CHECK(ones.v[2] == 0xa20bc7c6u);
  CHECK(ones.v[3] == 0x6d5451fdu);
  const auto pi = philox4x32_10(Philox4{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                                PhiloxKey{{0xa4093822u, 0x299f31d0u}});
  CHECK(pi.v[0] == 0xd16cfe09u);
  CHECK(pi.v[1] == 0x94fdccebu);
  CHECK(pi.v[2] == 0x5001e420u);
  CHECK(pi.v[3] == 0x24126ea1u);
}

TEST_CASE("SHA-256 matches FIPS 180-4's examples") {
  Sha256 empty;
  CHECK(to_hex(empty.finish()) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc;
  abc.update("abc", 3);
  CHECK(to_hex(abc.finish()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Two blocks, and fed in uneven pieces through the buffer.
  const char* two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Sha256 pieces;
  for (std::size_t i = 0; i < std::strlen(two); i += 5)
    pieces.update(two + i, std::min<std::size_t>(5, std::strlen(two) - i));
  CHECK(to_hex(pieces.finish()) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("matrix rows generated 16 at a time equal the element-by-element definition") {
  const PhiloxKey key = philox_key(0xABCDEF);
  std::vector<std::int8_t> row(256);
  gpux::verify::protocol::matrix_row(key, work::kTagB, 17, 256, row.data());
  for (std::uint32_t k = 0; k < 256; ++k)
    CHECK(row[k] == work::matrix_element(key, work::kTagB, 17, k));
}

TEST_CASE("challenges are validated field by field") {
  auto c = tiny_challenge(1);
  CHECK_FALSE(validate(c).has_value());
  c.matrix_size = 48;
  CHECK(validate(c).value().find("matrix_size") != std::string::npos);
  c = tiny_challenge(1);
  c.matrix_size = 1u << 17;  // 131072 x 16384 > int32
  c.tile_size = 8;
  CHECK(validate(c).value().find("overflow") != std::string::npos);
  c = tiny_challenge(1);
  c.lane_openings = 65;
  CHECK(validate(c).value().find("lane_openings") != std::string::npos);
  for (const auto& profile : class_profiles()) {
    INFO(profile.name);
    CHECK_FALSE(validate(make_challenge(profile, nonce_from_seed(3), 30'000'000'000)).has_value());
  }
  CHECK(openings_for(100, 10'000) == 88);  // 0.9^88 = 9.4e-5 <= 1e-4 < 0.9^87
}

TEST_CASE("a device's CUDA name selects its class; the exchange's class names find profiles") {
  const std::pair<const char*, const char*> devices[] = {{"NVIDIA H100 80GB HBM3", "h100-sxm"},
                                                         {"NVIDIA H100 PCIe", "h100-pcie"},
                                                         {"NVIDIA H200", "h200"},
                                                         {"NVIDIA A100-SXM4-80GB", "a100"},
                                                         {"NVIDIA L40S", "l40s"},
                                                         {"NVIDIA GeForce RTX 4090", "rtx-4090"},
                                                         {"NVIDIA B200", "b200"}};
  for (auto [device, name] : devices) {
    INFO(device);
    const ClassProfile* profile = class_of_device(device);
    REQUIRE(profile != nullptr);
    CHECK(profile->name == name);
  }
  CHECK(class_of_device("Tesla T4") == nullptr);
  // Products are listed as H100-SXM, A100, ...: every profile is found by that name.
  for (const char* product : {"H100-SXM", "H100-PCIE", "H200", "A100", "L40S", "RTX-4090", "B200"})
    CHECK_MESSAGE(find_class(product) != nullptr, product);
  CHECK(find_class("H100") == nullptr);
}

TEST_CASE("an honest prover passes, on every seed") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Verdict verdict = prove(tiny_challenge(seed), {}, seed * 31);
    INFO(to_string(verdict.failure), " ", verdict.detail);
    REQUIRE(verdict.passed());
    CHECK(verdict.tiles_checked == 88);
    CHECK(verdict.lanes_checked == 4);
  }
}

TEST_CASE("an honest cpu-sim challenge passes at the class's real size") {
  const auto* profile = find_class("cpu-sim");
  REQUIRE(profile != nullptr);
  auto challenge = make_challenge(*profile, nonce_from_seed(99), 200'000'000);
  SteadyClock clock;
  Verifier verifier(challenge, 5, clock);
  auto prover = make_cpu_prover(challenge);
  const Verdict verdict = run_challenge(*prover, verifier);
  INFO(verdict.detail);
  CHECK(verdict.passed());
}

TEST_CASE("one simulated device cannot answer two challenges issued at one instant") {
  // Proof of quantity: a provider with one device claiming two is
  // challenged twice at once; proving one after the other, the second
  // proof's memory phase misses the window that both share.
  const auto* profile = find_class("cpu-sim");
  REQUIRE(profile != nullptr);
  const auto first = make_challenge(*profile, nonce_from_seed(1), 0);
  const auto second = make_challenge(*profile, nonce_from_seed(2), 0);
  // A challenge outlasts the memory phase's allowance: the reason it works.
  CHECK(first.steps * nominal_step_ns(*profile) > first.max_memory_ns + first.slack_ns);
  SteadyClock clock;
  Verifier one(first, 5, clock), two(second, 6, clock);
  const Verdict verdict_one = run_challenge(*make_cpu_prover(first), one);
  const Verdict verdict_two = run_challenge(*make_cpu_prover(second), two);
  CHECK(verdict_one.passed());
  CHECK(verdict_two.failure == Failure::memory_too_slow);
}

TEST_CASE("skipping 10% of the tiles fails: (1 - f)^k empirically and at k = 88") {
  // With 8 openings a 10% skipper passes with probability 0.9^8 = 0.430.
  const int trials = 300;
  int passed = 0;
  for (int trial = 0; trial < trials; ++trial) {
    Cheats cheats;
    cheats.skip_tiles_per_mille = 100;
    cheats.seed = 1000 + trial;
    const Verdict verdict = prove(tiny_challenge(trial, 8), cheats, 77 + trial);
    if (verdict.passed()) {
      ++passed;
    } else {
      CHECK(verdict.failure == Failure::tile_mismatch);
    }
  }
  const double expected = trials * std::pow(0.9, 8);
  const double sd = std::sqrt(trials * std::pow(0.9, 8) * (1 - std::pow(0.9, 8)));
  CHECK(std::abs(passed - expected) < 4 * sd);  // about 129 +- 34
  MESSAGE("8 openings: ", passed, " of ", trials, " passed, expected ", expected);
  // With the 88 openings a challenge uses, not one of 300 gets through (the
  // chance that any does is 300 x 9.4e-5 = 2.8%).
  int passed_at_88 = 0;
  for (int trial = 0; trial < trials; ++trial) {
    Cheats cheats;
    cheats.skip_tiles_per_mille = 100;
    cheats.seed = 5000 + trial;
    passed_at_88 += prove(tiny_challenge(trial + 1000, 88), cheats, 99 + trial).passed();
  }
  CHECK(passed_at_88 == 0);
}

TEST_CASE("a wrong tile is caught as a mismatch against the exact recomputation") {
  Cheats cheats;
  cheats.skip_tiles_per_mille = 1000;
  const Verdict verdict = prove(tiny_challenge(4), cheats);
  CHECK(verdict.failure == Failure::tile_mismatch);
  CHECK(verdict.detail.find("step 0") != std::string::npos);
}

void open_memory_phase(Prover& prover, Verifier& verifier) {
  verifier.receive_lanes(
      prover.open_lanes(verifier.on_memory_commitment(prover.run_memory_phase())));
}

// Runs an honest proof and lets `tamper` change the first opening of a later step.
Verdict prove_tampered(std::function<void(StepOpening&)> tamper) {
  const auto challenge = tiny_challenge(12);
  ManualClock clock;
  Verifier verifier(challenge, 3, clock);
  auto prover = make_cpu_prover(challenge);
  open_memory_phase(*prover, verifier);
  bool tampered = false;
  while (!verifier.complete() && !verifier.failed()) {
    const auto commitment = prover->run_step();
    const auto tiles = verifier.on_step_commitment(commitment);
    if (tiles.empty()) continue;
    auto opening = prover->open_tiles(tiles);
    if (!tampered && opening.step > 0) {
      tamper(opening);
      tampered = true;
    }
    verifier.receive_tiles(std::move(opening));
  }
  REQUIRE(tampered);
  return verifier.finish();
}

TEST_CASE("a wrong Merkle path or input strip is caught as merkle_path_invalid") {
  auto sibling = prove_tampered([](StepOpening& o) { o.tiles[0].path[1].b[0] ^= 1; });
  CHECK(sibling.failure == Failure::merkle_path_invalid);
  CHECK(sibling.detail.find("not under the step's root") != std::string::npos);
  auto strip = prove_tampered([](StepOpening& o) { o.tiles[0].strip[5] ^= 1; });
  CHECK(strip.failure == Failure::merkle_path_invalid);
  CHECK(strip.detail.find("input strip") != std::string::npos);
  auto shape = prove_tampered([](StepOpening& o) { o.tiles[0].strip.pop_back(); });
  CHECK(shape.failure == Failure::malformed);
}

TEST_CASE("a replayed proof for an old nonce is refused as stale") {
  const auto old_challenge = tiny_challenge(20);
  auto fresh = tiny_challenge(21);
  ManualClock clock;
  Verifier verifier(fresh, 3, clock);
  auto replaying = make_cpu_prover(old_challenge);
  const Verdict verdict = run_challenge(*replaying, verifier);
  CHECK(verdict.failure == Failure::stale_nonce);
  // Even with the new nonce pasted on every commitment, the old work does not open.
  Verifier second(fresh, 3, clock);
  auto prover = make_cpu_prover(old_challenge);
  auto memory = prover->run_memory_phase();
  memory.nonce = fresh.nonce;
  second.receive_lanes(prover->open_lanes(second.on_memory_commitment(memory)));
  while (!second.complete() && !second.failed()) {
    auto step = prover->run_step();
    step.nonce = fresh.nonce;
    const auto tiles = second.on_step_commitment(step);
    if (!tiles.empty()) second.receive_tiles(prover->open_tiles(tiles));
  }
  CHECK(second.finish().failure == Failure::memory_mismatch);
}

TEST_CASE("a step later than the class's window fails as too slow, by the verifier's clock") {
  const auto challenge = tiny_challenge(30);  // 1 s per step allowed
  ManualClock clock;
  Verifier verifier(challenge, 3, clock);
  auto inner = make_cpu_prover(challenge);
  TimedProver prover(*inner, clock, 100'000'000,
                     [](std::uint32_t step) { return step == 3 ? 3'500'000'000 : 500'000'000; });
  const Verdict verdict = run_challenge(prover, verifier);
  CHECK(verdict.failure == Failure::step_too_slow);
  CHECK(verdict.detail.find("step 3") != std::string::npos);
  // Steady but slower than the class: behind after a few steps.
  Verifier steady(challenge, 3, clock);
  auto inner2 = make_cpu_prover(challenge);
  TimedProver slow(*inner2, clock, 100'000'000, [](std::uint32_t) { return 1'200'000'000; });
  CHECK(run_challenge(slow, steady).failure == Failure::step_too_slow);
  // On time: passes.
  Verifier on_time(challenge, 3, clock);
  auto inner3 = make_cpu_prover(challenge);
  TimedProver fast(*inner3, clock, 100'000'000, [](std::uint32_t) { return 900'000'000; });
  CHECK(run_challenge(fast, on_time).passed());
}

TEST_CASE("a memory phase smaller than the class's fails, by content and by time") {
  const auto challenge = tiny_challenge(40);
  Cheats cheats;
  cheats.memory_items = challenge.memory_items / 2;
  const Verdict verdict = prove(challenge, cheats);
  CHECK(verdict.failure == Failure::memory_mismatch);
  CHECK(verdict.detail.find("3000 items") != std::string::npos);
  ManualClock clock;
  Verifier verifier(challenge, 3, clock);
  auto inner = make_cpu_prover(challenge);
  TimedProver slow(*inner, clock, 1'500'000'000, [](std::uint32_t) { return 1; });
  CHECK(run_challenge(slow, verifier).failure == Failure::memory_too_slow);
}

TEST_CASE("a proof that stops early is incomplete") {
  const auto challenge = tiny_challenge(50);
  ManualClock clock;
  Verifier verifier(challenge, 3, clock);
  auto prover = make_cpu_prover(challenge);
  open_memory_phase(*prover, verifier);
  const auto tiles = verifier.on_step_commitment(prover->run_step());
  if (!tiles.empty()) verifier.receive_tiles(prover->open_tiles(tiles));
  const Verdict verdict = verifier.finish();
  CHECK(verdict.failure == Failure::incomplete);
  CHECK(verdict.detail == "1 of 5 steps committed");
}

TEST_CASE("gpux-verify: exit 0 for a passing proof, 1 for a failing one, 2 naming bad input") {
  using gpux::test::run_command;
  const std::string tool = GPUX_VERIFY_PATH;
  auto passing = run_command(tool + " prove --class cpu-sim");
  CHECK_MESSAGE(passing.status == 0, passing.output);
  CHECK(passing.output.find("PASSED") != std::string::npos);
  auto cheating = run_command(tool + " prove --class cpu-sim --skip-per-mille 100 --seed 7");
  CHECK_MESSAGE(cheating.status == 1, cheating.output);
  CHECK(cheating.output.find("tile_mismatch") != std::string::npos);
  // Each refusal names what is wrong; none may crash (a GPU class on the CPU
  // prover used to abort with std::bad_alloc for its 72 GiB memory phase).
  const std::pair<const char*, const char*> refusals[] = {
      {"prove --class h100-sxm", "GPU class"},
      {"prove --class nope", "--class 'nope' is not a class"},
      {"prove --class cpu-sim --seconds 99999999999", "--seconds"},
      {"prove --class cpu-sim --seconds x", "--seconds must be a non-negative integer"},
      {"prove --class cpu-sim --memory-items 99999999999", "--memory-items 99999999999"},
      {"prove --class cpu-sim --seed", "--seed needs a value"},
      {"frobnicate", "unknown command"}};
  for (auto [args, expected] : refusals) {
    INFO(args);
    const auto refused = run_command(tool + " " + args);
    CHECK_MESSAGE(refused.status == 2, refused.output);
    CHECK_MESSAGE(refused.output.find(expected) != std::string::npos, refused.output);
  }
}
