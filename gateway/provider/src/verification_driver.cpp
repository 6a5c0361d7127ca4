#include "gpux/provider/verification_driver.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "gpux/verify/verifier.h"

namespace gpux::provider {

VerificationDriver::VerificationDriver(VerificationConfig config, sequencer::Pipeline& pipeline)
    : config_(std::move(config)), pipeline_(pipeline) {
  std::random_device entropy;
  secret_ = (std::uint64_t{entropy()} << 32) | entropy();
  worker_ = std::thread([this] { run(); });
}

VerificationDriver::~VerificationDriver() {
  stop();
}

// Runs on the publisher thread for every durable command (every order): it
// touches the lock and wakes the worker only for challenges it will answer.
void VerificationDriver::observe(std::span<const matching::Event> events) {
  bool queued = false;
  for (const auto& event : events) {
    const auto* scheduled = std::get_if<matching::ChallengeScheduled>(&event);
    if (scheduled == nullptr || !config_.simulated.contains(scheduled->provider)) continue;
    std::lock_guard lock(mutex_);
    due_.push({scheduled->at, scheduled->trade, scheduled->index, scheduled->provider});
    queued = true;
  }
  if (queued) wake_.notify_one();
}

void VerificationDriver::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (worker_.joinable()) worker_.join();
}

void VerificationDriver::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (due_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const auto when = std::chrono::system_clock::time_point(std::chrono::seconds(due_.top().at));
    if (std::chrono::system_clock::now() < when) {
      wake_.wait_until(lock, when);
      continue;
    }
    const Job job = due_.top();
    due_.pop();
    const SimulatedProvider provider = config_.simulated.at(job.provider);
    lock.unlock();
    prove(job, provider);
    lock.lock();
  }
}

void VerificationDriver::prove(const Job& job, const SimulatedProvider& provider) {
  const verify::ClassProfile& profile = *verify::find_class("cpu-sim");
  const verify::Challenge challenge =
      verify::make_challenge(profile, verify::random_nonce(), config_.challenge_ms * 1'000'000);
  verify::Cheats cheats;
  cheats.skip_tiles_per_mille = provider.skip_per_mille;
  if (provider.memory_per_mille < 1000)
    cheats.memory_items = challenge.memory_items * provider.memory_per_mille / 1000;
  cheats.seed = job.trade * 131 + job.index;
  verify::SteadyClock clock;
  verify::Verifier verifier(challenge, secret_ ^ (job.trade << 8) ^ job.index, clock);
  auto prover = verify::make_cpu_prover(challenge, cheats);
  const verify::Verdict verdict = verify::run_challenge(*prover, verifier);
  matching::RecordChallengeOutcome outcome;
  outcome.trade = job.trade;
  outcome.index = job.index;
  outcome.outcome =
      verdict.passed() ? matching::ChallengeOutcome::passed : matching::ChallengeOutcome::failed;
  outcome.failure = static_cast<std::uint32_t>(verdict.failure);
  std::string result = verdict.passed() ? "passed" : "failed (";
  if (!verdict.passed())
    result = result + verify::to_string(verdict.failure) + ": " + verdict.detail + ")";
  // Logged once durable, so a reader of the log can rely on the outcome being recorded.
  pipeline_.submit(outcome, [job, result](const matching::Command&,
                                          std::span<const matching::Event> events) {
    const char* refused = nullptr;
    for (const auto& event : events)
      if (const auto* rejected = std::get_if<matching::CommandRejected>(&event))
        refused = matching::to_string(rejected->reason);
    std::fprintf(stderr, "gpuxd: challenge %u of trade %llu (provider %u) %s%s%s\n", job.index + 1,
                 static_cast<unsigned long long>(job.trade), job.provider, result.c_str(),
                 refused ? "; outcome refused: " : " and recorded", refused ? refused : "");
  });
}

}  // namespace gpux::provider
