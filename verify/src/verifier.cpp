#include "gpux/verify/verifier.h"

#include <time.h>

#include <chrono>
#include <optional>
#include <string>

#include "protocol.h"

namespace gpux::verify {
namespace {

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string ms(std::int64_t ns) {
  return std::to_string(ns / 1'000'000) + " ms";
}

}  // namespace

const char* to_string(Failure failure) {
  switch (failure) {
    case Failure::none:
      return "none";
    case Failure::stale_nonce:
      return "stale_nonce";
    case Failure::out_of_order:
      return "out_of_order";
    case Failure::malformed:
      return "malformed";
    case Failure::merkle_path_invalid:
      return "merkle_path_invalid";
    case Failure::tile_mismatch:
      return "tile_mismatch";
    case Failure::memory_mismatch:
      return "memory_mismatch";
    case Failure::memory_too_slow:
      return "memory_too_slow";
    case Failure::step_too_slow:
      return "step_too_slow";
    case Failure::deadline_exceeded:
      return "deadline_exceeded";
    case Failure::incomplete:
      return "incomplete";
    case Failure::missed:
      return "missed";
    case Failure::no_access:
      return "no_access";
  }
  return "unknown";
}

std::int64_t SteadyClock::now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Verifier::State {
  Challenge c;
  Clock& clock;
  std::uint32_t tiles;  // per side
  std::int64_t issued_ns;
  std::int64_t chain_start_ns = 0;
  std::optional<Digest> memory_root;
  std::vector<Digest> step_roots;
  std::vector<std::uint32_t> lanes_requested;
  std::vector<LaneOpening> lanes_received;
  std::vector<TilePosition> tiles_requested;  // for the step awaiting its opening
  std::vector<StepOpening> tiles_received;
  protocol::OpeningSchedule schedule;  // secret until what it opens is committed
  std::int64_t last_arrival_ns = 0;
  Verdict verdict;

  State(Challenge challenge, std::uint64_t seed, Clock& clk)
      : c(std::move(challenge)),
        clock(clk),
        tiles(c.matrix_size / c.tile_size),
        issued_ns(clk.now_ns()),
        schedule(protocol::opening_schedule(c, seed)) {}

  bool fail(Failure failure, std::string detail) {
    if (verdict.failure == Failure::none) {
      verdict.failure = failure;
      verdict.detail = std::move(detail);
    }
    return false;
  }
  bool ok() const { return verdict.failure == Failure::none; }

  bool same_nonce(const Nonce& nonce) {
    if (nonce == c.nonce) return true;
    return fail(Failure::stale_nonce, "commitment is for nonce " + to_hex(nonce) +
                                          ", the challenge is " + to_hex(c.nonce));
  }

  bool check_lane(const protocol::MemoryKeys& keys, const std::vector<Philox4>& cache,
                  const LaneOpening& lane) {
    if (lane.path.size() != protocol::path_length(c.memory_lanes))
      return fail(Failure::malformed, "lane " + std::to_string(lane.lane) + ": path of " +
                                          std::to_string(lane.path.size()) + " nodes");
    const Philox4 claimed{{lane.result[0], lane.result[1], lane.result[2], lane.result[3]}};
    const Digest root =
        protocol::root_from_path(work::lane_leaf(lane.lane, claimed), lane.lane, lane.path);
    if (!digest_equal(root, *memory_root))
      return fail(Failure::merkle_path_invalid,
                  "lane " + std::to_string(lane.lane) + " is not under the memory commitment");
    const Philox4 state = protocol::walk_lane(c, keys, cache, lane.lane);
    for (int i = 0; i < 4; ++i)
      if (state.v[i] != claimed.v[i])
        return fail(Failure::memory_mismatch,
                    "lane " + std::to_string(lane.lane) + " does not match a dataset of " +
                        std::to_string(c.memory_items) + " items (" +
                        std::to_string(c.memory_items * 16 / (1024 * 1024)) + " MiB)");
    ++verdict.lanes_checked;
    return true;
  }

  bool check_tile(const protocol::ChainKeys& keys, std::uint32_t step, const TileOpening& tile) {
    const std::uint32_t n = c.matrix_size, t = c.tile_size;
    const std::string where = "step " + std::to_string(step) + " tile (" +
                              std::to_string(tile.row) + ", " + std::to_string(tile.col) + ")";
    const std::size_t depth = protocol::path_length(std::size_t{tiles} * tiles);
    if (tile.path.size() != depth) return fail(Failure::malformed, where + ": bad path length");
    if (!digest_equal(protocol::root_from_path(
                          tile.leaf, work::tile_leaf_index(tile.row, tile.col, tiles), tile.path),
                      step_roots[step]))
      return fail(Failure::merkle_path_invalid, where + " is not under the step's root");
    if (step > 0) {
      if (tile.strip.size() != std::size_t{n} * t ||
          tile.strip_path.size() != protocol::path_length(tiles))
        return fail(Failure::malformed, where + ": input strip of the wrong shape");
      // The strip's tiles are the leaves of one subtree: rebuild it.
      std::vector<Digest> level(tiles);
      for (std::uint32_t a = 0; a < tiles; ++a)
        level[a] =
            work::tile_leaf(step - 1, a, tile.row, &tile.strip[std::size_t{a} * t * t], t, t);
      for (; level.size() > 1; level.resize(level.size() / 2))
        for (std::size_t i = 0; i < level.size() / 2; ++i)
          level[i] = work::merkle_parent(level[2 * i], level[2 * i + 1]);
      if (!digest_equal(protocol::root_from_path(level[0], tile.row, tile.strip_path),
                        step_roots[step - 1]))
        return fail(Failure::merkle_path_invalid,
                    where + ": its input strip (tile column " + std::to_string(tile.row) +
                        " of step " + std::to_string(step - 1) + ") is not under that step's root");
    }
    const auto mixed = protocol::compute_tile(c, keys, step, tile.row, tile.col, tile.strip);
    if (!digest_equal(work::tile_leaf(step, tile.row, tile.col, mixed.data(), t, t), tile.leaf))
      return fail(Failure::tile_mismatch, where + " differs from its exact recomputation");
    ++verdict.tiles_checked;
    return true;
  }
};

Verifier::Verifier(Challenge challenge, std::uint64_t secret, Clock& clock)
    : state_(std::make_unique<State>(std::move(challenge), secret, clock)) {}
Verifier::~Verifier() = default;

bool Verifier::failed() const {
  return !state_->ok();
}
bool Verifier::complete() const {
  return state_->step_roots.size() == state_->c.steps;
}

std::vector<std::uint32_t> Verifier::on_memory_commitment(const MemoryCommitment& commitment) {
  auto& s = *state_;
  const std::int64_t now = s.clock.now_ns();
  if (!s.ok() || !s.same_nonce(commitment.nonce)) return {};
  if (s.memory_root) {
    s.fail(Failure::out_of_order, "a second memory commitment");
    return {};
  }
  const std::int64_t elapsed = now - s.issued_ns;
  if (elapsed > s.c.max_memory_ns + s.c.slack_ns) {
    s.fail(Failure::memory_too_slow, "memory phase committed after " + ms(elapsed) + "; class " +
                                         s.c.gpu_class + " allows " +
                                         ms(s.c.max_memory_ns + s.c.slack_ns));
    return {};
  }
  s.memory_root = commitment.root;
  s.chain_start_ns = now;
  s.last_arrival_ns = now;
  s.lanes_requested = s.schedule.lanes;
  return s.lanes_requested;
}

void Verifier::receive_lanes(std::vector<LaneOpening> lanes) {
  auto& s = *state_;
  if (!s.ok()) return;
  if (lanes.size() != s.lanes_requested.size()) {
    s.fail(Failure::malformed, std::to_string(lanes.size()) + " lanes opened, " +
                                   std::to_string(s.lanes_requested.size()) + " requested");
    return;
  }
  for (std::size_t i = 0; i < lanes.size(); ++i)
    if (lanes[i].lane != s.lanes_requested[i]) {
      s.fail(Failure::malformed, "lane " + std::to_string(lanes[i].lane) + " opened, " +
                                     std::to_string(s.lanes_requested[i]) + " requested");
      return;
    }
  s.lanes_received = std::move(lanes);
}

std::vector<TilePosition> Verifier::on_step_commitment(const StepCommitment& commitment) {
  auto& s = *state_;
  const std::int64_t now = s.clock.now_ns();
  if (!s.ok() || !s.same_nonce(commitment.nonce)) return {};
  if (!s.memory_root || s.lanes_received.size() != s.lanes_requested.size()) {
    s.fail(Failure::out_of_order, "step committed before the memory phase was opened");
    return {};
  }
  if (!s.tiles_requested.empty()) {
    s.fail(Failure::out_of_order, "tiles of step " + std::to_string(s.step_roots.size() - 1) +
                                      " were requested and not opened");
    return {};
  }
  if (commitment.step != s.step_roots.size() || commitment.step >= s.c.steps) {
    s.fail(Failure::out_of_order, "step " + std::to_string(commitment.step) + " committed, step " +
                                      std::to_string(s.step_roots.size()) + " expected");
    return {};
  }
  // Cumulative: each step must land within its share of the class's time
  // from the chain's start, so a slower GPU falls behind and is caught.
  const std::int64_t elapsed = now - s.chain_start_ns;
  const std::int64_t allowed = std::int64_t{commitment.step + 1} * s.c.max_step_ns + s.c.slack_ns;
  if (elapsed > allowed) {
    s.fail(Failure::step_too_slow, "step " + std::to_string(commitment.step) + " committed " +
                                       ms(elapsed) + " after the chain started; class " +
                                       s.c.gpu_class + " allows " + ms(allowed));
    return {};
  }
  s.last_arrival_ns = now;
  s.step_roots.push_back(commitment.root);
  for (const auto& position : s.schedule.tiles)
    if (position.step == commitment.step) s.tiles_requested.push_back(position);
  return s.tiles_requested;
}

void Verifier::receive_tiles(StepOpening opening) {
  auto& s = *state_;
  if (!s.ok()) return;
  if (s.tiles_requested.empty() || opening.step + 1 != s.step_roots.size() ||
      opening.tiles.size() != s.tiles_requested.size()) {
    s.fail(Failure::malformed, "an opening of step " + std::to_string(opening.step) +
                                   " that does not answer the request");
    return;
  }
  // Kept until finish(): a strip of any other size than the one its check
  // reads would only cost the exchange memory.
  const std::size_t strip_bytes =
      opening.step == 0 ? 0 : std::size_t{s.c.matrix_size} * s.c.tile_size;
  for (std::size_t i = 0; i < opening.tiles.size(); ++i) {
    if (opening.tiles[i].row != s.tiles_requested[i].row ||
        opening.tiles[i].col != s.tiles_requested[i].col) {
      s.fail(Failure::malformed,
             "step " + std::to_string(opening.step) + ": opened a tile not requested");
      return;
    }
    if (opening.tiles[i].strip.size() != strip_bytes) {
      s.fail(Failure::malformed, "step " + std::to_string(opening.step) + ": a strip of " +
                                     std::to_string(opening.tiles[i].strip.size()) +
                                     " bytes, not " + std::to_string(strip_bytes));
      return;
    }
  }
  s.tiles_received.push_back(std::move(opening));
  s.tiles_requested.clear();
}

Verdict Verifier::finish() {
  auto& s = *state_;
  const std::int64_t cpu_start = thread_cpu_ns();
  if (s.ok() && s.step_roots.size() != s.c.steps)
    s.fail(Failure::incomplete, std::to_string(s.step_roots.size()) + " of " +
                                    std::to_string(s.c.steps) + " steps committed");
  if (s.ok() && !s.tiles_requested.empty())
    s.fail(Failure::incomplete, "the last step's tiles were not opened");
  if (s.ok() && s.last_arrival_ns - s.issued_ns > s.c.deadline_ns)
    s.fail(Failure::deadline_exceeded, "proof took " + ms(s.last_arrival_ns - s.issued_ns) +
                                           "; the deadline is " + ms(s.c.deadline_ns));
  if (s.ok()) {
    const auto memory = protocol::memory_keys(s.c.nonce);
    const auto cache = protocol::make_cache(memory.cache);
    for (const auto& lane : s.lanes_received)
      if (!s.check_lane(memory, cache, lane)) break;
  }
  if (s.ok()) {
    const auto chain = protocol::chain_keys(s.c.nonce, *s.memory_root);
    for (const auto& opening : s.tiles_received) {
      for (const auto& tile : opening.tiles)
        if (!s.check_tile(chain, opening.step, tile)) break;
      if (!s.ok()) break;
    }
  }
  s.verdict.verifier_cpu_ns += thread_cpu_ns() - cpu_start;
  return s.verdict;
}

Verdict run_challenge(Prover& prover, Verifier& verifier) {
  const auto lanes = verifier.on_memory_commitment(prover.run_memory_phase());
  if (!verifier.failed()) verifier.receive_lanes(prover.open_lanes(lanes));
  // The challenge fixes the step count; the verifier refuses any step beyond it.
  while (!verifier.failed()) {
    const StepCommitment commitment = prover.run_step();
    const auto tiles = verifier.on_step_commitment(commitment);
    if (!tiles.empty()) verifier.receive_tiles(prover.open_tiles(tiles));
    if (verifier.failed() || verifier.complete()) break;
  }
  return verifier.finish();
}

}  // namespace gpux::verify
