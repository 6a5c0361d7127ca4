// gpux-gpu-check: the checks of the CUDA prover that need a GPU, in one run
// (ops/gpu-check builds and runs it). Prints a table and writes JSON.
//   exactness  CUDA vs CPU prover, every commitment, several seeds and sizes,
//              and the verifier's full check of the CUDA proof
//   small      one small case, for compute-sanitizer
//   sustained  the prover's rate on an h100-sxm-sized chain beside raw
//              cuBLASLt int8 GEMM on the same shape, and the verifier's CPU
//              time for that challenge
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gpux/verify/cuda_prover.h"
#include "gpux/verify/philox.h"
#include "gpux/verify/verifier.h"

using namespace gpux::verify;

namespace {

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

bool same(const Digest& a, const Digest& b) {
  return digest_equal(a, b);
}

struct Row {
  std::string name;
  std::string result;
  std::string detail;
};

// Every commitment of both provers equal, and the CUDA proof passing the verifier.
Row exactness(std::uint64_t seed, std::uint32_t n, std::uint32_t tile) {
  const Challenge c = sized(seed, n, tile, 4, 1u << 20);
  auto cpu = make_cpu_prover(c);
  auto gpu = make_cuda_prover(c);
  const std::string name = "exact n=" + std::to_string(n) + " tile=" + std::to_string(tile) +
                           " seed=" + std::to_string(seed);
  if (!same(cpu->run_memory_phase().root, gpu->run_memory_phase().root))
    return {name, "FAIL", "memory roots differ"};
  for (std::uint32_t s = 0; s < c.steps; ++s)
    if (!same(cpu->run_step().root, gpu->run_step().root))
      return {name, "FAIL", "step " + std::to_string(s) + " roots differ"};
  SteadyClock clock;
  Verifier verifier(c, seed, clock);
  auto prover = make_cuda_prover(c);
  const Verdict verdict = run_challenge(*prover, verifier);
  if (!verdict.passed())
    return {name, "FAIL", std::string("verifier: ") + to_string(verdict.failure)};
  return {name, "ok", std::to_string(c.steps) + " steps + memory identical; verifier passed"};
}

std::vector<Row> sustained(double seconds) {
  const ClassProfile& profile = *find_class("h100-sxm");
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
  const double chain_s = std::chrono::duration<double>(end - chain_start).count();
  const double memory_s = std::chrono::duration<double>(chain_start - memory_start).count();
  const Verdict verdict = verifier.finish();
  const double prover_rate = step_ops * c.steps / chain_s;
  const double raw_rate = raw_gemm_ops_per_s(c.matrix_size, chain_s);
  char buffer[256];
  std::vector<Row> rows;
  std::snprintf(buffer, sizeof buffer, "%.1f TOPS over %u steps in %.1f s (memory phase %.1f s)",
                prover_rate / 1e12, c.steps, chain_s, memory_s);
  rows.push_back({"prover sustained", verdict.passed() ? "ok" : "FAIL", buffer});
  std::snprintf(buffer, sizeof buffer, "%.1f TOPS, same shape and duration", raw_rate / 1e12);
  rows.push_back({"raw cuBLASLt int8", "ok", buffer});
  std::snprintf(buffer, sizeof buffer, "%.1f%% (target >= 85%%)", 100 * prover_rate / raw_rate);
  rows.push_back({"prover / raw", prover_rate >= 0.85 * raw_rate ? "ok" : "FAIL", buffer});
  std::snprintf(buffer, sizeof buffer, "%.3f s CPU for %u tiles + %u lanes (target <= 1 s); %s",
                verdict.verifier_cpu_ns / 1e9, verdict.tiles_checked, verdict.lanes_checked,
                verdict.passed() ? "passed" : verdict.detail.c_str());
  rows.push_back({"verifier", verdict.verifier_cpu_ns <= 1'000'000'000 ? "ok" : "FAIL", buffer});
  return rows;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> modes;
  std::string json_path;
  double seconds = 40;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "exactness" || arg == "small" || arg == "sustained") {
      modes.push_back(arg);
    } else {
      std::fprintf(
          stderr,
          "usage: gpux-gpu-check [exactness] [small] [sustained] [--seconds S] [--json FILE]\n");
      return 2;
    }
  }
  if (modes.empty()) modes = {"exactness", "sustained"};
  std::vector<Row> rows;
  try {
    std::printf("device: %s\n", cuda_device_name().c_str());
    for (const auto& mode : modes) {
      if (mode == "small") rows.push_back(exactness(1, 64, 16));
      if (mode == "exactness")
        for (std::uint64_t seed : {1, 2, 3})
          for (auto [n, tile] : {std::pair{256u, 32u}, {1024u, 64u}, {4096u, 64u}})
            rows.push_back(exactness(seed, n, tile));
      if (mode == "sustained")
        for (auto& row : sustained(seconds))
          rows.push_back(std::move(row));
    }
  } catch (const std::exception& e) {
    rows.push_back({"error", "FAIL", e.what()});
  }
  bool ok = true;
  std::printf("%-32s %-6s %s\n", "check", "result", "detail");
  for (const auto& row : rows) {
    std::printf("%-32s %-6s %s\n", row.name.c_str(), row.result.c_str(), row.detail.c_str());
    ok = ok && row.result == "ok";
  }
  if (!json_path.empty()) {
    if (FILE* out = std::fopen(json_path.c_str(), "w")) {
      std::fprintf(out, "{\"checks\": [");
      for (std::size_t i = 0; i < rows.size(); ++i)
        std::fprintf(out, "%s\n  {\"check\": \"%s\", \"result\": \"%s\", \"detail\": \"%s\"}",
                     i ? "," : "", json_escape(rows[i].name).c_str(), rows[i].result.c_str(),
                     json_escape(rows[i].detail).c_str());
      std::fprintf(out, "\n]}\n");
      std::fclose(out);
    }
  }
  return ok ? 0 : 1;
}
