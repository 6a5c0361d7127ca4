#include "gpux/provider/verification_driver.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "gpux/provider/concurrent_proofs.h"
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
    due_.push({.at = scheduled->at,
               .round = scheduled->round,
               .trade = scheduled->trade,
               .index = scheduled->index,
               .provider = scheduled->provider});
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
    // The provider's whole round: every challenge of this instant.
    std::vector<Job> round{due_.top()};
    due_.pop();
    while (!due_.empty() && due_.top().at == round.front().at &&
           due_.top().round == round.front().round &&
           due_.top().provider == round.front().provider) {
      round.push_back(due_.top());
      due_.pop();
    }
    const SimulatedProvider provider = config_.simulated.at(round.front().provider);
    lock.unlock();
    prove_round(round, provider);
    lock.lock();
  }
}

void VerificationDriver::prove_round(const std::vector<Job>& round,
                                     const SimulatedProvider& provider) {
  const verify::ClassProfile& profile = *verify::find_class("cpu-sim");
  std::vector<verify::Challenge> challenges;
  for (std::size_t i = 0; i < round.size(); ++i)
    challenges.push_back(
        verify::make_challenge(profile, verify::random_nonce(), config_.challenge_ms * 1'000'000));
  // Issued together: one window for the whole round.
  verify::SteadyClock clock;
  std::vector<std::unique_ptr<verify::Verifier>> verifiers;
  for (std::size_t i = 0; i < round.size(); ++i)
    verifiers.push_back(std::make_unique<verify::Verifier>(
        challenges[i], secret_ ^ (round[i].trade << 8) ^ round[i].index, clock));
  std::vector<verify::Verdict> verdicts(round.size());
  std::vector<std::thread> devices;
  for (std::size_t i = 0; i < round.size(); ++i) {
    // As an agent: one device per challenge, as many as the provider runs,
    // and no more than one round proves.
    const std::uint32_t runs = provider.devices != 0 ? provider.devices : kMaxGpusPerRound;
    if (i >= runs) {
      verdicts[i] = {.failure = verify::Failure::incomplete,
                     .detail = "no device for it: the provider runs " + std::to_string(runs)};
      continue;
    }
    devices.emplace_back([&, i] {
      verify::Cheats cheats;
      cheats.skip_tiles_per_mille = provider.skip_per_mille;
      if (provider.memory_per_mille < 1000)
        cheats.memory_items = challenges[i].memory_items * provider.memory_per_mille / 1000;
      cheats.seed = round[i].trade * 131 + round[i].index;
      auto prover = verify::make_cpu_prover(challenges[i], cheats);
      verdicts[i] = verify::run_challenge(*prover, *verifiers[i]);
    });
  }
  for (std::thread& device : devices)
    device.join();
  for (std::size_t i = 0; i < round.size(); ++i)
    submit(round[i], verdicts[i]);
}

void VerificationDriver::submit(const Job& job, const verify::Verdict& verdict) {
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
