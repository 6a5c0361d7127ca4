// Answers delivery challenges in-process until providers run their own agents
// (the provider API): for each provider configured as simulated, it proves
// every scheduled challenge at its time with verify/'s CPU prover on the
// cpu-sim class (honestly or with the configured cheats), checks the proof
// with the verifier, and submits the outcome as a RecordChallengeOutcome.
// Challenges of providers nobody simulates are left to time out.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <queue>
#include <span>
#include <thread>
#include <vector>

#include "gpux/fix/config.h"
#include "gpux/matching/events.h"
#include "gpux/provider/config.h"
#include "gpux/sequencer/pipeline.h"

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
    matching::TradeId trade = 0;
    std::uint32_t index = 0;
    matching::ParticipantId provider = 0;
    bool operator>(const Job& other) const { return at > other.at; }
  };
  void run();
  void prove(const Job& job, const SimulatedProvider& provider);

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
