// gpux-verify: the class profiles, and proofs run in-process on the CPU prover.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gpux/verify/philox.h"
#include "gpux/verify/verifier.h"

using namespace gpux::verify;

namespace {

constexpr const char* kUsage = R"(usage: gpux-verify COMMAND [options]

Commands:
  classes                 the GPU class profiles a challenge can claim
  prove --class NAME      run one challenge on the CPU prover against the verifier
                          (cpu-sim: GPU classes need the CUDA prover)
      --seconds S         honest work to ask for, at most 3600 (default 1)
      --seed N            derives the nonce and the verifier's secret (default 1)
      --skip-per-mille P  cheat: leave P per mille of the tiles uncomputed
      --memory-items N    cheat: build a dataset of N items, fewer than the challenge's
      --devices N         N challenges issued at one instant, each proved on its own
                          thread, as a provider's N devices (proof of quantity), at
                          most 256 (default 1); prints the slowest proof's margin

Exit status: 0 the proof passed, 1 it failed, 2 usage error.
)";

constexpr std::uint64_t kCpuProverOpsPerSecond = 100'000'000'000;

bool parse_u64(std::string_view text, std::uint64_t& out) {
  const auto* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, out);
  return result.ec == std::errc{} && result.ptr == end;
}

int classes() {
  std::printf("%-10s %-30s %10s %12s %12s %6s %5s  %s\n", "class", "description", "memory GiB",
              "nominal TOPS", "minimum TOPS", "n", "tile", "calibrated");
  for (const auto& p : class_profiles())
    std::printf("%-10s %-30s %10.1f %12.3f %12.3f %6u %5u  %s\n", std::string(p.name).c_str(),
                std::string(p.description).c_str(), p.memory_bytes / 1073741824.0,
                p.nominal_ops_per_s / 1e12, p.minimum_ops_per_s / 1e12, p.matrix_size, p.tile_size,
                p.calibrated ? "yes" : "no");
  std::printf(
      "\nUncalibrated GPU classes scale the vendor's dense int8 figure by the H100's measured\n"
      "sustained ratio (1,245 of 1,979 TOPS); cpu-sim stands in for a GPU in tests and the "
      "demo.\n");
  return 0;
}

int prove(int argc, char** argv) {
  std::string class_name;
  std::uint64_t seconds = 1, seed = 1, devices = 1;
  Cheats cheats;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "gpux-verify: %s needs a value\n", argv[i]);
      return 2;
    }
    const std::string_view value = argv[++i];
    std::uint64_t number = 0;
    const bool numeric = parse_u64(value, number);
    if (arg == "--class") {
      class_name = value;
    } else if (!numeric) {
      std::fprintf(stderr, "gpux-verify: %s must be a non-negative integer, got '%s'\n",
                   std::string(arg).c_str(), std::string(value).c_str());
      return 2;
    } else if (arg == "--seconds" && number <= 3600) {
      seconds = number;
    } else if (arg == "--seed") {
      seed = number;
    } else if (arg == "--skip-per-mille" && number <= 1000) {
      cheats.skip_tiles_per_mille = static_cast<std::uint32_t>(number);
    } else if (arg == "--memory-items") {
      cheats.memory_items = number;
    } else if (arg == "--devices" && number >= 1 && number <= 256) {
      devices = number;
    } else {
      std::fprintf(stderr, "gpux-verify: unknown or out-of-range option %s\n%s", argv[i - 1],
                   kUsage);
      return 2;
    }
  }
  const ClassProfile* profile = find_class(class_name);
  if (profile == nullptr) {
    std::fprintf(stderr, "gpux-verify: --class '%s' is not a class (see gpux-verify classes)\n",
                 class_name.c_str());
    return 2;
  }
  // One core does about 10^10 int8 ops/s (ops/bench-verify): a class whose
  // floor is far above that could only fail, after hours, and a GPU class's
  // memory phase alone is tens of GiB.
  if (profile->minimum_ops_per_s > kCpuProverOpsPerSecond) {
    std::fprintf(stderr,
                 "gpux-verify: --class %s is a GPU class: its steps must run at %llu TOPS or "
                 "more and its memory phase fills %.1f GiB, which one CPU core cannot prove; "
                 "the CPU prover takes --class cpu-sim (GPU classes are proven by the CUDA "
                 "prover: gpux provider, ops/gpu-check)\n",
                 class_name.c_str(),
                 static_cast<unsigned long long>(profile->minimum_ops_per_s / 1'000'000'000'000),
                 profile->memory_bytes * 0.9 / 1073741824.0);
    return 2;
  }
  const Nonce nonce = nonce_from_seed(seed);
  const Challenge challenge =
      make_challenge(*profile, nonce, static_cast<std::int64_t>(seconds) * 1'000'000'000);
  if (cheats.memory_items > challenge.memory_items) {
    std::fprintf(stderr,
                 "gpux-verify: --memory-items %llu is more than the challenge's %llu: the cheat "
                 "builds a smaller dataset\n",
                 static_cast<unsigned long long>(cheats.memory_items),
                 static_cast<unsigned long long>(challenge.memory_items));
    return 2;
  }
  std::printf(
      "challenge %s: class %s, %u steps of %ux%ux%u int8, memory %llu items, %u tile and %u "
      "lane openings\n",
      to_hex(nonce).substr(0, 16).c_str(), challenge.gpu_class.c_str(), challenge.steps,
      challenge.matrix_size, challenge.matrix_size, challenge.matrix_size,
      static_cast<unsigned long long>(challenge.memory_items), challenge.tile_openings,
      challenge.lane_openings);
  // Every challenge issued at one instant: one window for all of them.
  std::vector<Challenge> challenges{challenge};
  for (std::uint64_t d = 1; d < devices; ++d)
    challenges.push_back(make_challenge(*profile, nonce_from_seed(seed + d),
                                        static_cast<std::int64_t>(seconds) * 1'000'000'000));
  SteadyClock clock;
  const std::int64_t start = clock.now_ns();
  std::vector<std::unique_ptr<Verifier>> verifiers;
  for (std::uint64_t d = 0; d < devices; ++d)
    verifiers.push_back(
        std::make_unique<Verifier>(challenges[d], (seed + d) * 0x9E3779B97F4A7C15ull, clock));
  std::vector<Verdict> verdicts(devices);
  std::vector<double> finished(devices);
  std::vector<std::thread> threads;
  for (std::uint64_t d = 0; d < devices; ++d)
    threads.emplace_back([&, d] {
      auto prover = make_cpu_prover(challenges[d], cheats);
      verdicts[d] = run_challenge(*prover, *verifiers[d]);
      finished[d] = (clock.now_ns() - start) / 1e9;
    });
  for (auto& t : threads)
    t.join();
  const double wall = *std::max_element(finished.begin(), finished.end());
  const auto passed =
      std::count_if(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return v.passed(); });
  const Verdict& verdict = verdicts.front();
  if (devices == 1) {
    std::printf("%s after %.2f s: %u tiles and %u lanes checked in %.1f ms of verifier CPU%s%s\n",
                verdict.passed() ? "PASSED" : "FAILED", wall, verdict.tiles_checked,
                verdict.lanes_checked, verdict.verifier_cpu_ns / 1e6, verdict.passed() ? "" : " - ",
                verdict.passed() ? "" : to_string(verdict.failure));
    if (!verdict.passed()) std::printf("  %s\n", verdict.detail.c_str());
    return verdict.passed() ? 0 : 1;
  }
  const double deadline = challenge.deadline_ns / 1e9;
  std::printf(
      "%lld of %llu proofs issued at one instant PASSED; the slowest took %.2f s of its "
      "%.2f s deadline (margin %.2f s)\n",
      static_cast<long long>(passed), static_cast<unsigned long long>(devices), wall, deadline,
      deadline - wall);
  for (std::uint64_t d = 0; d < devices; ++d)
    if (!verdicts[d].passed())
      std::printf("  device %llu: %s: %s\n", static_cast<unsigned long long>(d + 1),
                  to_string(verdicts[d].failure), verdicts[d].detail.c_str());
  return passed == static_cast<long long>(devices) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view command = argc > 1 ? argv[1] : "";
  if (command == "classes") return classes();
  if (command == "prove") return prove(argc, argv);
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "gpux-verify: %s\n%s",
               command.empty() ? "a command is required" : "unknown command", kUsage);
  return 2;
}
