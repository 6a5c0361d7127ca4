// gpux-gpu-check: the checks of the CUDA prover that need a GPU, in one run
// (ops/gpu-check builds and runs it). Prints each row as it is known, so a
// run cut short still shows what it found, and writes JSON at the end.
//   exactness  CUDA vs CPU prover, every commitment, several seeds and sizes,
//              and the verifier's full check of the CUDA proof
//   small      one small case, for compute-sanitizer
//   sustained  the prover's rate on a chain of the device's class beside raw
//              cuBLASLt int8 GEMM on the same shape, where a step's GPU time
//              goes, and the verifier's CPU time for that challenge
//   concurrent proof of quantity: one challenge per GPU issued at one
//              instant, all passing; and one GPU given two challenges of one
//              instant, one after the other and at once, failing one
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gpux/verify/cuda_prover.h"
#include "gpux/verify/philox.h"
#include "gpux/verify/verifier.h"

using namespace gpux::verify;

namespace {

struct Row {
  std::string name;
  std::string result;
  std::string detail;
};

std::vector<Row> rows;

void report(Row row) {
  std::printf("%-32s %-6s %s\n", row.name.c_str(), row.result.c_str(), row.detail.c_str());
  std::fflush(stdout);
  rows.push_back(std::move(row));
}

std::string format(const char* pattern, auto... values) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, pattern, values...);
  return buffer;
}

Challenge sized(std::uint64_t seed, std::uint32_t n, std::uint32_t tile, std::uint32_t steps,
                std::uint64_t memory_items) {
  auto c = make_challenge(*find_class("h100-sxm"), nonce_from_seed(seed), 1);
  c.matrix_size = n;
  c.tile_size = tile;
  c.steps = steps;
  c.memory_items = memory_items;
  c.memory_lanes = 1u << 12;
  c.memory_reads = static_cast<std::uint32_t>(4 * memory_items / c.memory_lanes + 1);
  c.max_step_ns = c.max_memory_ns = c.deadline_ns = 3'600'000'000'000;  // exactness, not speed
  return c;
}

struct Commitments {
  Digest memory;
  std::vector<Digest> steps;
};

Commitments commit_all(Prover& prover, std::uint32_t steps) {
  Commitments out{prover.run_memory_phase().root, {}};
  for (std::uint32_t s = 0; s < steps; ++s)
    out.steps.push_back(prover.run_step().root);
  return out;
}

struct Case {
  std::uint64_t seed;
  std::uint32_t n, tile;
};

// Every commitment of both provers equal, and each CUDA proof passing the
// verifier. The CPU references (one core each, minutes at n = 4096) all run
// at once on the host's cores while the GPU takes the cases in turn.
void exactness(const std::vector<Case>& cases) {
  std::vector<Challenge> challenges;
  std::vector<std::future<Commitments>> references;
  for (const auto& k : cases) {
    challenges.push_back(sized(k.seed, k.n, k.tile, 4, 1u << 20));
    references.push_back(std::async(std::launch::async, [c = challenges.back()] {
      auto cpu = make_cpu_prover(c);
      return commit_all(*cpu, c.steps);
    }));
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Challenge& c = challenges[i];
    const std::string name = "exact n=" + std::to_string(c.matrix_size) +
                             " tile=" + std::to_string(c.tile_size) +
                             " seed=" + std::to_string(cases[i].seed);
    const auto start = std::chrono::steady_clock::now();
    const Commitments gpu = commit_all(*make_cuda_prover(c), c.steps);
    const Commitments cpu = references[i].get();
    if (!digest_equal(cpu.memory, gpu.memory)) {
      report({name, "FAIL", "memory roots differ"});
      continue;
    }
    const auto differs = std::mismatch(cpu.steps.begin(), cpu.steps.end(), gpu.steps.begin(),
                                       [](auto& a, auto& b) { return digest_equal(a, b); });
    if (differs.first != cpu.steps.end()) {
      report({name, "FAIL",
              "step " + std::to_string(differs.first - cpu.steps.begin()) + " roots differ"});
      continue;
    }
    SteadyClock clock;
    Verifier verifier(c, cases[i].seed, clock);
    auto prover = make_cuda_prover(c);
    const Verdict verdict = run_challenge(*prover, verifier);
    if (!verdict.passed()) {
      report({name, "FAIL", std::string("verifier: ") + to_string(verdict.failure)});
      continue;
    }
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report({name, "ok",
            format("%u steps + memory identical; verifier passed (%.1f s)", c.steps, waited)});
  }
}

void sustained(const ClassProfile& profile, double seconds) {
  const Challenge c =
      make_challenge(profile, nonce_from_seed(42), static_cast<std::int64_t>(seconds * 1e9));
  const double step_ops = 2.0 * c.matrix_size * c.matrix_size * static_cast<double>(c.matrix_size);
  SteadyClock clock;
  Verifier verifier(c, 42, clock);
  auto prover = make_cuda_prover(c);
  const auto memory_start = std::chrono::steady_clock::now();
  const auto lanes = verifier.on_memory_commitment(prover->run_memory_phase());
  verifier.receive_lanes(prover->open_lanes(lanes));
  const auto chain_start = std::chrono::steady_clock::now();
  for (std::uint32_t s = 0; s < c.steps && !verifier.failed(); ++s) {
    const auto tiles = verifier.on_step_commitment(prover->run_step());
    if (!tiles.empty()) verifier.receive_tiles(prover->open_tiles(tiles));
  }
  const auto end = std::chrono::steady_clock::now();
  prover.reset();
  const double chain_s = std::chrono::duration<double>(end - chain_start).count();
  const double memory_s = std::chrono::duration<double>(chain_start - memory_start).count();
  const Verdict verdict = verifier.finish();
  const double prover_rate = step_ops * c.steps / chain_s;
  report({"prover sustained", verdict.passed() ? "ok" : "FAIL",
          format("%.1f TOPS over %u steps of %u^3 in %.1f s (memory phase %.2f s, budget %.1f s)",
                 prover_rate / 1e12, c.steps, c.matrix_size, chain_s, memory_s,
                 c.max_memory_ns / 1e9)});
  const double raw_rate = raw_gemm_ops_per_s(c.matrix_size, chain_s);
  report(
      {"raw cuBLASLt int8", "ok", format("%.1f TOPS, same shape and duration", raw_rate / 1e12)});
  report({"prover / raw", prover_rate >= 0.85 * raw_rate ? "ok" : "FAIL",
          format("%.1f%% (target >= 85%%)", 100 * prover_rate / raw_rate)});
  const StepKernelTimes k = step_kernel_times(c.matrix_size, c.tile_size, 21);
  const double kernels = k.gemm_ms + k.mix_transpose_ms + k.tile_leaves_ms + k.merkle_ms;
  report({"one step, kernels alone", "ok",
          format("GEMM %.3f ms, mix+transpose %.3f, tile hashes %.3f, Merkle %.3f; GEMM %.1f%% "
                 "of the kernels, %.1f%% of a measured step",
                 k.gemm_ms, k.mix_transpose_ms, k.tile_leaves_ms, k.merkle_ms,
                 100 * k.gemm_ms / kernels, 100 * k.gemm_ms / (1e3 * chain_s / c.steps))});
  report({"verifier", verdict.verifier_cpu_ns <= 1'000'000'000 ? "ok" : "FAIL",
          format("%.3f s CPU for %u tiles + %u lanes (target <= 1 s); %s",
                 verdict.verifier_cpu_ns / 1e9, verdict.tiles_checked, verdict.lanes_checked,
                 verdict.passed() ? "passed" : verdict.detail.c_str())});
}

// Proves `count` challenges issued at one instant, challenge i on device
// device_of(i), each on a thread of its own (a CUDA device is current per
// thread); "one after the other" runs them in turn on the calling thread.
std::vector<Verdict> prove_at_once(const ClassProfile& profile, double seconds, int count,
                                   int (*device_of)(int), bool one_after_the_other) {
  std::vector<Challenge> challenges;
  for (int i = 0; i < count; ++i)
    challenges.push_back(make_challenge(profile, nonce_from_seed(100 + static_cast<unsigned>(i)),
                                        static_cast<std::int64_t>(seconds * 1e9)));
  SteadyClock clock;
  std::vector<std::unique_ptr<Verifier>> verifiers;
  for (int i = 0; i < count; ++i)
    verifiers.push_back(std::make_unique<Verifier>(challenges[static_cast<std::size_t>(i)],
                                                   77 + static_cast<unsigned>(i), clock));
  std::vector<Verdict> verdicts(static_cast<std::size_t>(count));
  const auto prove = [&](int i) {
    const auto at = static_cast<std::size_t>(i);
    try {
      auto prover = make_cuda_prover(challenges[at], device_of(i));
      verdicts[at] = run_challenge(*prover, *verifiers[at]);
    } catch (const std::exception& e) {  // e.g. a second dataset that does not fit
      verdicts[at] = {.failure = Failure::incomplete, .detail = e.what()};
    }
  };
  if (one_after_the_other) {
    for (int i = 0; i < count; ++i)
      prove(i);
  } else {
    std::vector<std::thread> threads;
    for (int i = 0; i < count; ++i)
      threads.emplace_back(prove, i);
    for (auto& t : threads)
      t.join();
  }
  return verdicts;
}

void concurrent(const ClassProfile& profile, double seconds) {
  const int devices = cuda_device_count();
  const auto passed = [](const std::vector<Verdict>& verdicts) {
    return static_cast<int>(std::count_if(verdicts.begin(), verdicts.end(),
                                          [](const Verdict& v) { return v.passed(); }));
  };
  const auto first_failure = [](const std::vector<Verdict>& verdicts) {
    for (const Verdict& v : verdicts)
      if (!v.passed()) return std::string(to_string(v.failure)) + ": " + v.detail;
    return std::string("none");
  };
  const auto all = prove_at_once(
      profile, seconds, devices, [](int i) { return i; }, false);
  report({"concurrent: every GPU at once", passed(all) == devices ? "ok" : "FAIL",
          format("%d of %d passed; %s", passed(all), devices, first_failure(all).c_str())});
  const auto serial = prove_at_once(
      profile, seconds, 2, [](int) { return 0; }, true);
  report({"concurrent: 1 GPU, 2 in turn", passed(serial) <= 1 ? "ok" : "FAIL",
          format("%d of 2 passed (at most 1 may); %s", passed(serial),
                 first_failure(serial).c_str())});
  const auto shared = prove_at_once(
      profile, seconds, 2, [](int) { return 0; }, false);
  report({"concurrent: 1 GPU, 2 at once", passed(shared) <= 1 ? "ok" : "FAIL",
          format("%d of 2 passed (at most 1 may); %s", passed(shared),
                 first_failure(shared).c_str())});
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

void write_json(const std::string& path, const std::string& device, const std::string& profile) {
  FILE* out = std::fopen(path.c_str(), "w");
  if (!out) {
    std::fprintf(stderr, "gpux-gpu-check: cannot write %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return;
  }
  std::fprintf(out, "{\"device\": \"%s\", \"class\": \"%s\", \"checks\": [",
               json_escape(device).c_str(), profile.c_str());
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::fprintf(out, "%s\n  {\"check\": \"%s\", \"result\": \"%s\", \"detail\": \"%s\"}",
                 i ? "," : "", json_escape(rows[i].name).c_str(), rows[i].result.c_str(),
                 json_escape(rows[i].detail).c_str());
  std::fprintf(out, "\n]}\n");
  std::fclose(out);
}

constexpr char kUsage[] =
    "usage: gpux-gpu-check [exactness] [small] [sustained] [concurrent] [--seconds S]\n"
    "                      [--class NAME]\n"
    "                      [--json FILE]\n"
    "  --seconds S   honest work of the sustained and concurrent challenges (default 30)\n"
    "  --class NAME  the class to challenge (default: the device's, from its name)\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> modes;
  std::string json_path, class_name;
  double seconds = 30;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
      if (seconds <= 0) {
        std::fprintf(stderr, "gpux-gpu-check: --seconds must be a positive number\n");
        return 2;
      }
    } else if (arg == "--class" && i + 1 < argc) {
      class_name = argv[++i];
      if (!find_class(class_name)) {
        std::fprintf(stderr, "gpux-gpu-check: no GPU class '%s' (gpux-verify classes)\n",
                     class_name.c_str());
        return 2;
      }
    } else if (arg == "exactness" || arg == "small" || arg == "sustained" || arg == "concurrent") {
      modes.push_back(arg);
    } else {
      std::fprintf(stderr, "%s", kUsage);
      return 2;
    }
  }
  if (modes.empty()) modes = {"exactness", "sustained"};
  std::string device = "unknown", profile = class_name;
  try {
    device = cuda_device_name();
    const ClassProfile* device_class = class_of_device(device);
    if (class_name.empty() && !device_class)
      std::printf("device %s is no listed class: challenged as h100-sxm\n", device.c_str());
    const ClassProfile& chosen = !class_name.empty() ? *find_class(class_name)
                                 : device_class      ? *device_class
                                                     : *find_class("h100-sxm");
    profile = std::string(chosen.name);
    std::printf("device: %s; class: %s\n", device.c_str(), profile.c_str());
    std::printf("%-32s %-6s %s\n", "check", "result", "detail");
    for (const auto& mode : modes) {
      if (mode == "small") exactness({{1, 64, 16}});
      if (mode == "exactness") {
        std::vector<Case> cases;
        for (std::uint64_t seed : {1, 2, 3})
          for (auto [n, tile] : {std::pair{256u, 32u}, {1024u, 64u}, {4096u, 64u}})
            cases.push_back({seed, n, tile});
        exactness(cases);
      }
      if (mode == "sustained") sustained(chosen, seconds);
      if (mode == "concurrent") concurrent(chosen, seconds);
    }
  } catch (const std::exception& e) {
    report({"error", "FAIL", e.what()});
  }
  if (!json_path.empty()) write_json(json_path, device, profile);
  return std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.result == "ok"; }) ? 0
                                                                                              : 1;
}
