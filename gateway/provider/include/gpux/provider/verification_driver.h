// Answers delivery challenges in-process until providers run their own agents
// (the provider API): for each provider configured as simulated, it proves
// every round of scheduled challenges at its time, all of the round's units
// at once (one thread per simulated GPU, as many as the provider runs), with
// verify/'s CPU prover on the cpu-sim class (honestly or with the configured
// cheats), checks each proof with the verifier, and submits the outcomes as
// RecordChallengeOutcome commands.
// Challenges of providers nobody simulates are left to time out.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <queue>
#include <span>
#include <thread>
#include <tuple>
#include <vector>

#include "gpux/fix/config.h"
#include "gpux/matching/events.h"
#include "gpux/provider/config.h"
#include "gpux/sequencer/pipeline.h"
#include "gpux/verify/verifier.h"

namespace gpux::provider {

class VerificationDriver {
 public:
  VerificationDriver(VerificationConfig config, sequencer::Pipeline& pipeline);
  ~VerificationDriver();
  VerificationDriver(const VerificationDriver&) = delete;
  VerificationDriver& operator=(const VerificationDriver&) = delete;

  // From the pipeline's observer (publisher thread): queues ChallengeScheduled.
  void observe(std::span<const matching::Event> events);
  // Abandons what is queued (those challenges time out) and joins the worker.
  void stop();

 private:
  struct Job {
    std::int64_t at = 0;  // Unix seconds
    std::uint32_t round = 0;
    matching::TradeId trade = 0;
    std::uint32_t index = 0;
    matching::ParticipantId provider = 0;
    bool operator>(const Job& other) const {
      return std::tie(at, round, provider, trade, index) >
             std::tie(other.at, other.round, other.provider, other.trade, other.index);
    }
  };
  void run();
  // One provider's challenges of one instant.
  void prove_round(const std::vector<Job>& round, const SimulatedProvider& provider);
  void submit(const Job& job, const verify::Verdict& verdict);

  VerificationConfig config_;
  sequencer::Pipeline& pipeline_;
  std::uint64_t secret_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::priority_queue<Job, std::vector<Job>, std::greater<>> due_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace gpux::provider
