#include "gpux/provider/pending_challenges.h"

namespace gpux::provider {

std::vector<matching::ChallengeScheduled> pending_challenges(
    const matching::EngineSnapshot& state) {
  using matching::ChallengeOutcome;
  std::vector<matching::ChallengeScheduled> pending;
  for (const matching::InstrumentSnapshot& s : state.instruments) {
    if (s.state != matching::InstrumentState::delivering) continue;
    for (const auto& obligation : s.obligations)
      for (std::uint32_t index = 0; index < obligation.outcomes.size(); ++index) {
        if (obligation.outcomes[index] != ChallengeOutcome::pending) continue;
        const std::uint32_t round = settlement::challenge_slot(index, obligation.quantity).round;
        pending.push_back({.stamp = {},
                           .trade = obligation.trade,
                           .index = index,
                           .instrument = s.spec.id,
                           .provider = obligation.provider,
                           .at = settlement::challenge_time(
                               s.challenge_seed, round, s.spec.delivery_start, s.spec.delivery_end),
                           .round = round});
      }
  }
  return pending;
}

}  // namespace gpux::provider
