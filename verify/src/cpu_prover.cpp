// The reference prover: the same work as the CUDA prover, plainly, on one core.
#include <algorithm>
#include <cassert>
#include <chrono>
#include <thread>

#include "gpux/verify/prover.h"
#include "protocol.h"

namespace gpux::verify {
namespace {

class CpuProver final : public Prover {
 public:
  CpuProver(const Challenge& challenge, const Cheats& cheats)
      : c_(challenge),
        cheats_(cheats),
        n_(challenge.matrix_size),
        t_(challenge.tile_size),
        tiles_(n_ / t_) {
    if (cheats_.skip_tiles_per_mille > 0) choose_skipped_tiles();
    if (const ClassProfile* profile = find_class(c_.gpu_class); profile && profile->simulated)
      paced_step_ = std::chrono::nanoseconds(nominal_step_ns(*profile));
  }

  MemoryCommitment run_memory_phase() override {
    const auto keys = protocol::memory_keys(c_.nonce);
    const auto cache = protocol::make_cache(keys.cache);
    const std::uint64_t items = cheats_.memory_items != 0 ? cheats_.memory_items : c_.memory_items;
    std::vector<Philox4> dataset(items);
    for (std::uint64_t i = 0; i < items; ++i)
      dataset[i] = work::dataset_item(keys.dataset, cache.data(), c_.memory_parents, i);
    std::vector<Digest> leaves(c_.memory_lanes);
    lane_results_.resize(c_.memory_lanes);
    for (std::uint32_t lane = 0; lane < c_.memory_lanes; ++lane) {
      Philox4 state = work::lane_start(keys.lanes, lane);
      for (std::uint32_t r = 0; r < c_.memory_reads; ++r)
        state = work::lane_read(keys.lanes, state, dataset[work::lane_index(state, items)]);
      lane_results_[lane] = state;
      leaves[lane] = work::lane_leaf(lane, state);
    }
    lanes_ = protocol::MerkleTree(std::move(leaves));
    start_chain(lanes_.root());
    chain_started_ = std::chrono::steady_clock::now();
    return {c_.nonce, lanes_.root()};
  }

  std::vector<LaneOpening> open_lanes(std::span<const std::uint32_t> lanes) override {
    std::vector<LaneOpening> out;
    for (auto lane : lanes)
      out.push_back(protocol::open_lane(lane, lane_results_[lane], lanes_.path(lane)));
    return out;
  }

  StepCommitment run_step() override {
    assert(!a_.empty() && "run_memory_phase first");
    const std::uint32_t step = next_step_++;
    previous_ = std::move(current_);
    previous_tree_ = std::move(current_tree_);
    current_.assign(std::size_t{n_} * n_, 0);
    for (std::uint32_t ti = 0; ti < tiles_; ++ti)
      for (std::uint32_t tj = 0; tj < tiles_; ++tj)
        if (!skipped(step, ti, tj)) compute_tile(ti, tj);
    std::vector<Digest> leaves(std::size_t{tiles_} * tiles_);
    for (std::uint32_t ti = 0; ti < tiles_; ++ti)
      for (std::uint32_t tj = 0; tj < tiles_; ++tj)
        leaves[work::tile_leaf_index(ti, tj, tiles_)] =
            work::tile_leaf(step, ti, tj, &current_[(std::size_t{ti} * n_ + tj) * t_], n_, t_);
    current_tree_ = protocol::MerkleTree(std::move(leaves));
    // The next step's A is this step's mixed output, transposed.
    for (std::uint32_t i = 0; i < n_; ++i)
      for (std::uint32_t k = 0; k < n_; ++k)
        a_[std::size_t{i} * n_ + k] = current_[std::size_t{k} * n_ + i];
    // A simulated device is no faster than its class.
    if (paced_step_.count() > 0)
      std::this_thread::sleep_until(chain_started_ + (step + 1) * paced_step_);
    return {c_.nonce, step, current_tree_.root()};
  }

  StepOpening open_tiles(std::span<const TilePosition> tiles) override {
    const std::uint32_t step = next_step_ - 1;
    return protocol::open_step(step, tiles, [&](TileOpening& tile) {
      tile.path = current_tree_.path(work::tile_leaf_index(tile.row, tile.col, tiles_));
      tile.leaf = work::tile_leaf(step, tile.row, tile.col,
                                  &current_[(std::size_t{tile.row} * n_ + tile.col) * t_], n_, t_);
      if (step > 0) {
        tile.strip.resize(std::size_t{n_} * t_);
        for (std::uint32_t k = 0; k < n_; ++k)
          for (std::uint32_t r = 0; r < t_; ++r)
            tile.strip[std::size_t{k} * t_ + r] =
                previous_[std::size_t{k} * n_ + tile.row * t_ + r];
        tile.strip_path = previous_tree_.path(tile.row, protocol::path_length(tiles_));
      }
    });
  }

 private:
  void start_chain(const Digest& memory_root) {
    const auto keys = protocol::chain_keys(c_.nonce, memory_root);
    a_.resize(std::size_t{n_} * n_);
    bt_.resize(std::size_t{n_} * n_);
    for (std::uint32_t r = 0; r < n_; ++r) {
      protocol::matrix_row(keys.a, work::kTagA, r, n_, &a_[std::size_t{r} * n_]);
      protocol::matrix_row(keys.b, work::kTagB, r, n_, &bt_[std::size_t{r} * n_]);
    }
  }

  void compute_tile(std::uint32_t ti, std::uint32_t tj) {
    for (std::uint32_t r = ti * t_; r < (ti + 1) * t_; ++r)
      for (std::uint32_t col = tj * t_; col < (tj + 1) * t_; ++col)
        current_[std::size_t{r} * n_ + col] =
            work::mix(protocol::dot(&a_[std::size_t{r} * n_], &bt_[std::size_t{col} * n_], n_));
  }

  // Exactly the cheat's fraction of all the chain's tiles (rounded), at
  // random places: the fraction the soundness figure speaks of.
  void choose_skipped_tiles() {
    const std::size_t per_step = std::size_t{tiles_} * tiles_, total = per_step * c_.steps;
    std::vector<std::pair<std::uint32_t, std::size_t>> order(total);
    for (std::size_t i = 0; i < total; ++i)
      order[i] = {philox4x32_10(Philox4{{static_cast<std::uint32_t>(i), 0x5C1F, 0, 0}},
                                philox_key(cheats_.seed))
                      .v[0],
                  i};
    const std::size_t count = (total * cheats_.skip_tiles_per_mille + 500) / 1000;
    std::nth_element(order.begin(), order.begin() + count, order.end());
    skipped_.assign(total, false);
    for (std::size_t i = 0; i < count; ++i)
      skipped_[order[i].second] = true;
  }

  bool skipped(std::uint32_t step, std::uint32_t ti, std::uint32_t tj) const {
    return !skipped_.empty() && skipped_[(std::size_t{step} * tiles_ + ti) * tiles_ + tj];
  }

  Challenge c_;
  Cheats cheats_;
  std::uint32_t n_, t_, tiles_;
  std::vector<Philox4> lane_results_;
  protocol::MerkleTree lanes_;
  std::vector<std::int8_t> a_, bt_, current_, previous_;
  protocol::MerkleTree current_tree_, previous_tree_;
  std::uint32_t next_step_ = 0;
  std::vector<bool> skipped_;
  std::chrono::nanoseconds paced_step_{0};  // 0: as fast as the CPU goes
  std::chrono::steady_clock::time_point chain_started_;
};

}  // namespace

std::unique_ptr<Prover> make_cpu_prover(const Challenge& challenge, const Cheats& cheats) {
  return std::make_unique<CpuProver>(challenge, cheats);
}

}  // namespace gpux::verify
