// The exchange's side of a proof: it timestamps commitments with its own
// clock, reveals its secret choice of openings only after the commitment
// they open, and recomputes every opened tile and lane exactly.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gpux/verify/prover.h"

namespace gpux::verify {

// Reason codes travel as numbers (RecordChallengeOutcome.failure): append
// only, and the reports name those up to the last (ops/report/build.cpp).
enum class Failure : std::uint32_t {
  none = 0,
  stale_nonce = 1,          // a commitment for another challenge (a replayed proof)
  out_of_order = 2,         // a step missing, repeated, or an opening not answered
  malformed = 3,            // an opening of the wrong shape
  merkle_path_invalid = 4,  // an opened leaf is not under its committed root
  tile_mismatch = 5,        // a committed tile differs from the exact recomputation
  memory_mismatch = 6,      // a lane's result differs: the dataset was not the one challenged
  memory_too_slow = 7,
  step_too_slow = 8,
  deadline_exceeded = 9,
  incomplete = 10,  // finished before every step was committed
  missed = 11,      // no agent answered a delivery round at its instant (see the provider API)
  no_access = 12,   // the buyer's endpoint did not answer as its reported host key (access check)
};
const char* to_string(Failure);

struct Verdict {
  Failure failure = Failure::none;
  std::string detail;  // names the step, tile or lane and the limit
  std::uint32_t tiles_checked = 0;
  std::uint32_t lanes_checked = 0;
  std::int64_t verifier_cpu_ns = 0;  // this thread's CPU time spent checking
  bool passed() const { return failure == Failure::none; }
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now_ns() = 0;
};

class SteadyClock final : public Clock {
 public:
  std::int64_t now_ns() override;
};

class Verifier {
 public:
  // The challenge counts as issued now. `secret` seeds the openings; the
  // prover must not know it.
  Verifier(Challenge challenge, std::uint64_t secret, Clock& clock);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // Each returns what the prover must open now (empty once failed).
  std::vector<std::uint32_t> on_memory_commitment(const MemoryCommitment&);
  void receive_lanes(std::vector<LaneOpening> lanes);
  std::vector<TilePosition> on_step_commitment(const StepCommitment&);
  void receive_tiles(StepOpening opening);

  bool failed() const;
  bool complete() const;  // every step committed
  // Checks every opening received (the heavy part, kept off the timed path)
  // and the whole proof's completeness and deadline.
  Verdict finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Runs a challenge between an in-process prover and a verifier.
Verdict run_challenge(Prover& prover, Verifier& verifier);

}  // namespace gpux::verify
