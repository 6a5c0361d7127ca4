// gpux-bench-verify: what verification costs on one CPU core.
//   1. The verifier's CPU time for a full-size GPU challenge (default: 30 s of
//      h100-sxm work). No GPU needed: a prover that knows the verifier's
//      secret computes only what will be opened, over sparse Merkle trees, and
//      the unmodified verifier checks it exactly as it would a real proof.
//   2. The CPU prover and verifier on the cpu-sim class (the demo's).
// Medians over --repeat runs; a table on stdout and JSON to --json.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "gpux/verify/verifier.h"
#include "protocol.h"

using namespace gpux::verify;

namespace {

// A Merkle tree where every leaf not set is the zero digest: roots and paths
// cost only the set leaves' branches.
class SparseTree {
 public:
  SparseTree(std::size_t leaves, const std::map<std::size_t, Digest>& set) {
    const std::size_t depth = protocol::path_length(leaves);
    empty_.resize(depth + 1);
    for (std::size_t level = 1; level <= depth; ++level)
      empty_[level] = work::merkle_parent(empty_[level - 1], empty_[level - 1]);
    levels_.push_back(set);
    for (std::size_t level = 0; level < depth; ++level) {
      std::map<std::size_t, Digest> up;
      for (const auto& [index, digest] : levels_[level])
        if (!up.count(index / 2))
          up[index / 2] =
              work::merkle_parent(node(level, index & ~std::size_t{1}), node(level, index | 1));
      levels_.push_back(std::move(up));
    }
  }
  Digest root() const { return node(levels_.size() - 1, 0); }
  MerklePath path(std::size_t index, std::size_t level = 0) const {
    MerklePath path;
    for (; level + 1 < levels_.size(); ++level, index /= 2)
      path.push_back(node(level, index ^ 1));
    return path;
  }

 private:
  Digest node(std::size_t level, std::size_t index) const {
    const auto it = levels_[level].find(index);
    return it == levels_[level].end() ? empty_[level] : it->second;
  }
  std::vector<Digest> empty_;
  std::vector<std::map<std::size_t, Digest>> levels_;
};

// Computes only what the verifier will open (it knows the secret), so a
// full-size challenge can be checked on a machine without a GPU.
class KnowingProver final : public Prover {
 public:
  KnowingProver(const Challenge& c, std::uint64_t secret)
      : c_(c),
        schedule_(protocol::opening_schedule(c, secret)),
        n_(c.matrix_size),
        t_(c.tile_size),
        tiles_(n_ / t_) {}

  MemoryCommitment run_memory_phase() override {
    const auto keys = protocol::memory_keys(c_.nonce);
    const auto cache = protocol::make_cache(keys.cache);
    std::map<std::size_t, Digest> leaves;
    for (auto lane : schedule_.lanes) {
      const Philox4 state = protocol::walk_lane(c_, keys, cache, lane);
      results_[lane] = state;
      leaves[lane] = work::lane_leaf(lane, state);
    }
    lanes_ = std::make_unique<SparseTree>(c_.memory_lanes, leaves);
    chain_ = protocol::chain_keys(c_.nonce, lanes_->root());
    return {c_.nonce, lanes_->root()};
  }

  std::vector<LaneOpening> open_lanes(std::span<const std::uint32_t> lanes) override {
    std::vector<LaneOpening> out;
    for (auto lane : lanes)
      out.push_back(protocol::open_lane(lane, results_.at(lane), lanes_->path(lane)));
    return out;
  }

  StepCommitment run_step() override {
    const std::uint32_t step = next_step_++;
    previous_ = std::move(current_);
    previous_tree_ = std::move(current_tree_);
    current_.clear();
    // The opened tiles, computed exactly from their (previous step's) inputs.
    for (const auto& p : schedule_.tiles)
      if (p.step == step)
        current_[{p.row, p.col}] = protocol::compute_tile(c_, chain_, step, p.row, p.col,
                                                          step > 0 ? strip(p.row) : Strip{});
    // The column strips the next step's openings will read: any content.
    for (const auto& p : schedule_.tiles)
      if (p.step == step + 1)
        for (std::uint32_t a = 0; a < tiles_; ++a)
          if (!current_.count({a, p.row})) current_[{a, p.row}] = filler(step, a, p.row);
    std::map<std::size_t, Digest> leaves;
    for (const auto& [at, tile] : current_)
      leaves[work::tile_leaf_index(at.first, at.second, tiles_)] =
          work::tile_leaf(step, at.first, at.second, tile.data(), t_, t_);
    current_tree_ = std::make_unique<SparseTree>(std::size_t{tiles_} * tiles_, leaves);
    return {c_.nonce, step, current_tree_->root()};
  }

  StepOpening open_tiles(std::span<const TilePosition> positions) override {
    const std::uint32_t step = next_step_ - 1;
    return protocol::open_step(step, positions, [&](TileOpening& tile) {
      const auto& data = current_.at({tile.row, tile.col});
      tile.leaf = work::tile_leaf(step, tile.row, tile.col, data.data(), t_, t_);
      tile.path = current_tree_->path(work::tile_leaf_index(tile.row, tile.col, tiles_));
      if (step > 0) {
        tile.strip = strip(tile.row);
        tile.strip_path = previous_tree_->path(tile.row, protocol::path_length(tiles_));
      }
    });
  }

 private:
  using Strip = std::vector<std::int8_t>;
  Strip strip(std::uint32_t column) const {
    std::vector<std::int8_t> out;
    for (std::uint32_t a = 0; a < tiles_; ++a) {
      const auto& tile = previous_.at({a, column});
      out.insert(out.end(), tile.begin(), tile.end());
    }
    return out;
  }

  std::vector<std::int8_t> filler(std::uint32_t step, std::uint32_t row, std::uint32_t col) const {
    std::vector<std::int8_t> out(std::size_t{t_} * t_);
    for (std::uint32_t r = 0; r < t_; ++r)
      protocol::matrix_row(philox_key(step), row, col, t_, &out[std::size_t{r} * t_]);
    return out;
  }

  Challenge c_;
  protocol::OpeningSchedule schedule_;
  std::uint32_t n_, t_, tiles_;
  std::map<std::uint32_t, Philox4> results_;
  std::unique_ptr<SparseTree> lanes_;
  protocol::ChainKeys chain_{};
  using Tiles = std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<std::int8_t>>;
  Tiles current_, previous_;
  std::unique_ptr<SparseTree> current_tree_, previous_tree_;
  std::uint32_t next_step_ = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Result {
  std::string name;
  double value;
  std::string unit;
  std::string note;
};

}  // namespace

int main(int argc, char** argv) {
  std::string json_path, gpu_class = "h100-sxm";
  int repeat = 3;
  double seconds = 30;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json" && i + 1 < argc)
      json_path = argv[++i];
    else if (arg == "--repeat" && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--class" && i + 1 < argc)
      gpu_class = argv[++i];
    else if (arg == "--seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else {
      std::fprintf(
          stderr,
          "usage: gpux-bench-verify [--class C] [--seconds S] [--repeat N] [--json FILE]\n");
      return 2;
    }
  }
  const ClassProfile* profile = find_class(gpu_class);
  if (profile == nullptr) {
    std::fprintf(stderr, "gpux-bench-verify: --class '%s' is not a class\n", gpu_class.c_str());
    return 2;
  }
  std::vector<Result> results;
  SteadyClock clock;

  std::vector<double> verifier_s;
  Challenge big;
  for (int r = 0; r < repeat; ++r) {
    big = make_challenge(*profile, nonce_from_seed(100 + r),
                         static_cast<std::int64_t>(seconds * 1e9));
    Verifier verifier(big, 7 + r, clock);
    KnowingProver prover(big, 7 + r);
    const Verdict verdict = run_challenge(prover, verifier);
    if (!verdict.passed()) {
      std::fprintf(stderr, "gpux-bench-verify: the knowing prover failed: %s\n",
                   verdict.detail.c_str());
      return 1;
    }
    verifier_s.push_back(verdict.verifier_cpu_ns / 1e9);
  }
  char note[160];
  std::snprintf(note, sizeof note,
                "%u steps of %u^3, tile %u, %u tile + %u lane openings; target <= 1 s", big.steps,
                big.matrix_size, big.tile_size, big.tile_openings, big.lane_openings);
  results.push_back({"verifier CPU, " + gpu_class + " " +
                         std::to_string(static_cast<int>(seconds)) + " s challenge",
                     median(verifier_s), "s", note});

  std::vector<double> prover_s, small_verifier_s;
  const ClassProfile& sim = *find_class("cpu-sim");
  Challenge small;
  for (int r = 0; r < repeat; ++r) {
    small = make_challenge(sim, nonce_from_seed(200 + r), 1'000'000'000);
    Verifier verifier(small, 9 + r, clock);
    auto prover = make_cpu_prover(small);
    const auto start = clock.now_ns();
    const Verdict verdict = run_challenge(*prover, verifier);
    prover_s.push_back((clock.now_ns() - start) / 1e9 - verdict.verifier_cpu_ns / 1e9);
    small_verifier_s.push_back(verdict.verifier_cpu_ns / 1e9);
  }
  const double ops = 2.0 * small.matrix_size * small.matrix_size * small.matrix_size * small.steps;
  results.push_back({"cpu-sim prover, wall", median(prover_s), "s",
                     std::to_string(small.steps) + " steps of 256^3 + memory phase"});
  results.push_back({"cpu-sim prover, int8 rate", ops / median(prover_s) / 1e9, "Gops/s",
                     "memory phase included"});
  results.push_back({"cpu-sim verifier CPU", median(small_verifier_s), "s", ""});

  std::printf("%-44s %12s %-7s %s\n", "measure (median)", "value", "unit", "note");
  for (const auto& r : results)
    std::printf("%-44s %12.4f %-7s %s\n", r.name.c_str(), r.value, r.unit.c_str(), r.note.c_str());
  if (!json_path.empty()) {
    FILE* out = std::fopen(json_path.c_str(), "w");
    if (out == nullptr) {
      std::fprintf(stderr, "gpux-bench-verify: cannot write %s\n", json_path.c_str());
      return 1;
    }
    std::fprintf(out, "{\"repeat\": %d, \"results\": [", repeat);
    for (std::size_t i = 0; i < results.size(); ++i)
      std::fprintf(out, "%s\n  {\"name\": \"%s\", \"median\": %.6f, \"unit\": \"%s\"}",
                   i ? "," : "", results[i].name.c_str(), results[i].value,
                   results[i].unit.c_str());
    std::fprintf(out, "\n]}\n");
    std::fclose(out);
  }
  return 0;
}
